"""`make bench`: run every bench/bench_*.py (or the ones named: `python bench/run.py metrics`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in names}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            print(f"No such benchmark: {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        # One process each: every benchmark sets up Django against its own database.
        done = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)  # noqa: S603
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
