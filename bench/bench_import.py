"""CSV import at scale (docs/operations.md#csv-import): 200,000 MRR rows (5,000 customers, 40 months each).

Prints how long the /imports/ page takes to answer (the file stored, the job queued), then the time and peak
memory (max RSS of the process) of the import itself, run as the worker runs it and as
`manage.py import_csv`. Set BENCH_MAIN=/path/to/an/older/checkout to time its `import_csv` on the same file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database, setup_django

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "5000"))
MONTHS = int(os.environ.get("BENCH_MONTHS", "40"))
ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, max RSS in MB, output) of a command run under /usr/bin/time -v."""
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - fixed commands
        ["/usr/bin/time", "-v", *cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    took = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(float(t) for t in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr))
    output = f"(CPU {cpu:.1f} s) " + done.stdout + done.stderr[-2000:]
    return took, int(rss.group(1)) / 1024 if rss else float("nan"), output


def main() -> None:
    url = recreate_database(script="bench_import.py", default_name="cshub_bench_import")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # the page only queues the job
    setup_django(url)
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from accounts.models import Customer, Role
    from integrations.models import ImportJob
    from metrics.models import MrrEntry
    from metrics.revenue.ledger import ledger_link_mismatches
    from tests.factories import UserFactory

    Customer.objects.bulk_create(
        Customer(external_id=f"C-{i:06}", name=f"Customer {i}") for i in range(CUSTOMERS)
    )
    admin = UserFactory(email="bench-admin@example.com", role=Role.ADMIN)
    lines = ["customer,effective_date,mrr"]
    for m in range(MONTHS):
        day = dt.date(2020 + m // 12, m % 12 + 1, 1).isoformat()
        lines += [f"C-{i:06},{day},{100 + (i + m) % 900}.00" for i in range(CUSTOMERS)]
    data = ("\n".join(lines) + "\n\n").encode()
    rows = CUSTOMERS * MONTHS
    print(f"{rows:,} rows, {len(data) / 2**20:.1f} MB")

    client = Client()
    client.force_login(admin)
    started = time.monotonic()
    response = client.post(
        "/imports/", {"kind": "mrr", "file": SimpleUploadedFile("mrr.csv", data, content_type="text/csv")}
    )
    print(f"page: {response.status_code} in {time.monotonic() - started:.2f} s (file stored, job queued)")
    job = ImportJob.objects.get()

    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "CSHUB_TESTING": "0"}
    code = (
        "import django; django.setup(); from integrations.services import import_job_run;"
        f" print(import_job_run(job_id={job.pk}))"
    )
    took, rss, out = timed(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "cshub.settings"}
    )
    job.refresh_from_db()
    print(
        f"job (as the worker runs it): {job.state}, {job.rows_written:,} rows written in {took:.1f} s,"
        f" peak RSS {rss:.0f} MB {out.split(')')[0]})"
    )
    assert job.state == "done", out
    print(f"ledger links that differ from a fresh LAG/LEAD: {ledger_link_mismatches()}")

    with tempfile.NamedTemporaryFile(suffix=".csv") as fh:
        fh.write(data.rstrip(b"\n") + b"\n")  # an older checkout refuses the trailing blank line
        fh.flush()
        for label, checkout in [
            ("this checkout", ROOT),
            ("BENCH_MAIN", Path(os.environ.get("BENCH_MAIN", ""))),
        ]:
            if label == "BENCH_MAIN" and not os.environ.get("BENCH_MAIN"):
                continue
            MrrEntry.objects.all().delete()
            took, rss, out = timed(
                [sys.executable, "manage.py", "import_csv", "mrr", fh.name], cwd=checkout, env=env
            )
            print(
                f"manage.py import_csv ({label}): {took:.1f} s, peak RSS {rss:.0f} MB;"
                f" {out.strip().splitlines()[0][:100]}"
            )


if __name__ == "__main__":
    main()
