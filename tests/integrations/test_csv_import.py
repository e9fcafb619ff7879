"""CSV import: `manage.py import_csv` and the /imports/ page; errors name line and column, write nothing."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Customer
from integrations.models import ImportJob, ImportState
from integrations.samples import shift_dates
from metrics.models import MrrEntry, Renewal, Ticket, UsageEvent
from surveys.models import Response as SurveyResponse
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def run(kind: str, path: Path) -> str:
    out = io.StringIO()
    call_command("import_csv", kind, str(path), stdout=out, stderr=out)
    return out.getvalue()


def test_every_sample_file_imports_and_reimport_is_unchanged():
    UserFactory(email="priya@demo.cshub.dev")
    for kind in ("customers", "contacts", "mrr", "usage_events", "tickets", "renewals", "survey_responses"):
        assert "Imported" in run(kind, SAMPLES / f"{kind}.csv")
    assert Customer.objects.count() == 2
    assert Contact.objects.count() == 2
    assert MrrEntry.objects.count() == 3
    assert UsageEvent.objects.count() == 3
    assert Ticket.objects.get(external_id="T-1001").first_contact_resolution is True
    assert Renewal.objects.count() == 2
    assert "3 unchanged" in run("mrr", SAMPLES / "mrr.csv")
    assert "3 duplicates" in run("usage_events", SAMPLES / "usage_events.csv")
    answers = SurveyResponse.objects.order_by("answered_at")
    assert [(r.kind, r.score) for r in answers] == [("nps", 9), ("nps", 4), ("csat", 5), ("ces", 6)]
    assert answers[0].contact is not None  # a known contact of ACME-001 is linked
    assert answers[1].contact is None  # an address that is not a contact is kept as given
    assert "4 unchanged" in run("survey_responses", SAMPLES / "survey_responses.csv")


def test_errors_print_line_and_column_and_write_nothing(tmp_path, customer, capsys):
    path = tmp_path / "mrr.csv"
    path.write_text(
        "customer,effective_date,mrr\n"
        f"{customer.external_id},2024-01-01,100\n"
        f"{customer.external_id},2024-13-01,100\n"
        "NOPE,2024-02-01,-3\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_csv", "mrr", str(path), stdout=io.StringIO(), stderr=err)
    table = err.getvalue()
    assert "line" in table
    assert "column" in table
    assert "     3  effective_date" in table
    assert "     4  mrr" in table
    assert MrrEntry.objects.count() == 0


def test_unknown_customer_is_reported_with_its_line(tmp_path, customer):
    path = tmp_path / "renewals.csv"
    path.write_text(
        "customer,due_date,arr_due,outcome\n"
        f"{customer.external_id},2024-06-30,1000,pending\n"
        "NOPE,2024-06-30,1000,pending\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "renewals", str(path), stdout=io.StringIO(), stderr=err)
    assert "     3  customer" in err.getvalue()
    assert Renewal.objects.count() == 0


def test_bad_header_is_line_1(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("external_id,customer,opened,priority\nT-1,X,2024-01-01T00:00:00Z,low\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "tickets", str(path), stdout=io.StringIO(), stderr=err)
    assert "     1  opened" in err.getvalue()
    assert "     1  opened_at" in err.getvalue()


def upload(client, kind: str, content: str):
    return client.post(
        reverse("import_csv"),
        {"kind": kind, "file": SimpleUploadedFile(f"{kind}.csv", content.encode(), content_type="text/csv")},
    )


def test_upload_becomes_a_job_whose_page_shows_counts(
    admin_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            admin_client, "mrr", f"customer,effective_date,mrr\n{customer.external_id},2024-01-01,10\n"
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_job", args=[job.pk])
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert b"1 created" in page.content
    assert b'class="alert alert--success"' in page.content
    assert b"Imported 1 row (MRR ledger):" in page.content
    assert MrrEntry.objects.count() == 1
    job.refresh_from_db()
    assert (job.state, job.rows_validated, job.rows_written, job.counts) == (
        ImportState.DONE,
        1,
        1,
        {"created": 1, "updated": 0, "unchanged": 0},
    )
    assert bytes(job.data) == b""  # the file is not kept once imported
    assert b"mrr.csv" in admin_client.get(reverse("import_csv")).content  # listed under recent imports


def test_upload_job_page_shows_error_table_and_writes_nothing(
    admin_client, customer, django_capture_on_commit_callbacks
):
    content = (
        f"customer,effective_date,mrr\n{customer.external_id},2024-01-01,10\n{customer.external_id},x,10\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = upload(admin_client, "mrr", content)
    page = admin_client.get(page["Location"])
    assert page.status_code == 200
    assert b"Nothing was written" in page.content
    assert b"effective_date" in page.content
    assert b"<td>3</td>" in page.content
    assert MrrEntry.objects.count() == 0
    assert ImportJob.objects.get().state == ImportState.FAILED


def test_a_queued_job_page_shows_progress_and_polls(admin_client, admin_user):
    job = ImportJob.objects.create(kind="mrr", filename="big.csv", rows_expected=200, rows_validated=50)
    job.state = ImportState.RUNNING
    job.save()
    page = admin_client.get(reverse("import_job", args=[job.pk]))
    assert page.status_code == 200
    assert b'<progress max="100" value="25"' in page.content
    assert b"50 of about 200 rows validated" in page.content
    assert b"hx-get" in page.content
    partial = admin_client.get(reverse("import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert b"import-progress" in partial.content


def test_upload_without_file_is_400_with_form_errors(admin_client):
    response = admin_client.post(reverse("import_csv"), {"kind": "mrr"})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client"])
def test_only_admins_may_see_an_import_job(client_name, request, admin_user):
    job = ImportJob.objects.create(kind="mrr", filename="x.csv", requested_by=admin_user)
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("import_job", args=[job.pk])).status_code == 403


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path, customer):
    path = tmp_path / "mrr.csv"
    path.write_text(
        "customer,effective_date,mrr\n"
        f"{customer.external_id},2024-01-01,100\n"
        "\n"
        f"{customer.external_id},2024-02-01,bad\n"
        "\n , ,\n\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "mrr", str(path), stdout=io.StringIO(), stderr=err)
    assert "     4  mrr" in err.getvalue()  # line 4 of the file, the blank line 3 counted
    assert "This field is required" not in err.getvalue()
    path.write_text(f"customer,effective_date,mrr\n{customer.external_id},2024-01-01,100\n\n\n")
    assert "1 created" in run("mrr", path)


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_the_delimiter_is_read_from_the_header(tmp_path, customer, delimiter, name):
    path = tmp_path / "mrr.csv"
    rows = [["customer", "effective_date", "mrr"], [customer.external_id, "2024-01-01", "100.50"]]
    path.write_text("\n".join(delimiter.join(r) for r in rows) + "\n")
    assert "1 created" in run("mrr", path)
    path.write_text(delimiter.join(["customer", "date", "mrr"]) + "\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "mrr", str(path), stdout=io.StringIO(), stderr=err)
    assert f"read as {name}-separated" in err.getvalue()


def test_a_key_repeated_in_another_chunk_is_an_error(tmp_path, customer, monkeypatch):
    from integrations import csv_import as module

    monkeypatch.setattr(module, "CHUNK_ROWS", 2)
    path = tmp_path / "mrr.csv"
    path.write_text(
        "customer,effective_date,mrr\n"
        + "".join(f"{customer.external_id},2024-0{m}-01,{m}\n" for m in range(1, 5))
        + f"{customer.external_id},2024-01-01,9\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "mrr", str(path), stdout=io.StringIO(), stderr=err)
    assert "Duplicate of line 2 in this file" in err.getvalue()
    assert MrrEntry.objects.count() == 0  # the chunks already written were rolled back


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client"])
def test_only_admins_may_import(client_name, request, customer):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("import_csv")).status_code == 403
    response = upload(client, "mrr", f"customer,effective_date,mrr\n{customer.external_id},2024-01-01,10\n")
    assert response.status_code == 403
    assert MrrEntry.objects.count() == 0


def test_anonymous_is_sent_to_login(anonymous):
    response = anonymous.get(reverse("import_csv"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_samples_download_from_the_page_dated_so_the_newest_is_today(admin_client, settings):
    page = admin_client.get(reverse("import_csv")).content.decode()
    assert reverse("import_sample", args=["renewals"]) in page
    response = admin_client.get(reverse("import_sample", args=["renewals"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="renewals.csv"'
    text = response.content.decode()
    today = timezone.localdate()
    # renewals.csv: due 2025-01-15 and 2025-03-01 (45 days apart): the newest is today.
    assert f"ACME-001,{(today - dt.timedelta(days=45)).isoformat()},78000.00" in text
    assert f"GLOBEX-002,{today.isoformat()},14400.00" in text
    assert text.splitlines()[0] == (SAMPLES / "renewals.csv").read_text().splitlines()[0]


def test_downloaded_samples_import_in_order(admin_client, tmp_path):
    UserFactory(email="priya@demo.cshub.dev")
    for kind in ("customers", "contacts", "mrr", "usage_events", "tickets", "renewals", "survey_responses"):
        text = admin_client.get(reverse("import_sample", args=[kind])).content.decode()
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert "Imported" in run(kind, path), kind
    assert Renewal.objects.filter(due_date=timezone.localdate()).exists()


def test_shift_dates_moves_every_date_by_the_same_days():
    text = "a,2024-07-01T09:00:00Z,2024-07-03,12024-07-03"
    assert shift_dates(text, today=dt.date(2026, 12, 7)) == "a,2026-12-05T09:00:00Z,2026-12-07,12024-07-03"


@pytest.mark.parametrize("kind", ["nope", "..", "customers-x"])
def test_unknown_sample_is_404_and_samples_are_for_admins(admin_client, csm_client, kind):
    assert admin_client.get(f"/imports/samples/{kind}.csv").status_code == 404
    assert csm_client.get(reverse("import_sample", args=["customers"])).status_code == 403
