"""HTML screens of accounts: login, Book, customer page, touchpoint/pulse logging
(docs/architecture.md#roles-and-permissions for each)."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import unquote, urlencode

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import LifecycleStage, Pulse, Touchpoint
from tests.conftest import PASSWORD, client_for
from tests.factories import ContactFactory, CustomerFactory, PulseFactory, TouchpointFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def book_url(**params) -> str:
    return reverse("book") + (f"?{urlencode(params)}" if params else "")


def touchpoint_url(customer) -> str:
    return reverse("touchpoint_create", kwargs={"external_id": customer.external_id})


def pulse_url(customer) -> str:
    return reverse("pulse_create", kwargs={"external_id": customer.external_id})


def names_in(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def local_input(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def touchpoint_data(**overrides) -> dict:
    data = {
        "kind": "call",
        "occurred_at": local_input(timezone.now() - dt.timedelta(hours=2)),
        "sentiment": "positive",
        "summary": "Discussed the rollout plan.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Login, logout, home --------------------------------------------------------------------------


def test_login_with_email_and_password_opens_the_book(anonymous, csm):
    response = anonymous.post(reverse("login"), {"username": csm.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert anonymous.get(reverse("home")).status_code == 200  # the home dashboard (issue 7)


def test_login_with_wrong_password_shows_an_error(anonymous, csm):
    response = anonymous.post(reverse("login"), {"username": csm.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in anonymous.session


def test_logout_is_post_only(csm_client):
    assert csm_client.get(reverse("logout")).status_code == 405
    response = csm_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert csm_client.get(reverse("book")).status_code == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login_from_every_page(anonymous, customer, method):
    urls = [reverse("book"), customer.get_absolute_url()]
    if method == "post":
        urls = [touchpoint_url(customer), pulse_url(customer)]
    for url in urls:
        response = getattr(anonymous, method)(url, touchpoint_data() if method == "post" else None)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url
    assert anonymous.get(reverse("home"), follow=True).redirect_chain[-1][0].startswith(reverse("login"))
    assert not Touchpoint.objects.exists()
    assert not Pulse.objects.exists()


def test_login_page_renders_for_anonymous(anonymous):
    response = anonymous.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


# --- Book: whose customers ------------------------------------------------------------------------


def test_csm_book_shows_only_own_customers(csm_client, customer, other_customer):
    response = csm_client.get(book_url())
    assert response.status_code == 200
    assert names_in(response) == ["Northwind Traders"]
    assert "Southpaw Labs" not in response.content.decode()


def test_csm_asking_for_another_csms_book_gets_403_and_no_data(csm_client, other_csm, other_customer):
    response = csm_client.get(book_url(csm=other_csm.pk))
    assert response.status_code == 403
    assert "Southpaw Labs" not in response.content.decode()


def test_csm_asking_for_own_book_by_id(csm_client, csm, customer):
    assert names_in(csm_client.get(book_url(csm=csm.pk))) == ["Northwind Traders"]


def test_book_picker_ignores_garbage_and_404s_unknown_ids(csm_client, customer):
    assert names_in(csm_client.get(book_url(csm="abc"))) == ["Northwind Traders"]
    assert csm_client.get(book_url(csm=987654)).status_code == 404


def test_manager_book_defaults_to_whole_team(manager_client, manager, csm, customer, other_customer):
    teammate = UserFactory(full_name="Terry Teammate")
    csm.teams.first().members.add(teammate)
    CustomerFactory(name="Teammate Co", csm=teammate)
    response = manager_client.get(book_url())
    assert sorted(names_in(response)) == ["Northwind Traders", "Teammate Co"]
    body = response.content.decode()
    assert "Whole team" in body
    assert "Terry Teammate" in body  # in the CSM picker
    assert "Olive Othercsm" not in body  # another team's CSM is not offered


def test_manager_picks_one_csm_of_the_team(manager_client, csm, customer):
    teammate = UserFactory()
    csm.teams.first().members.add(teammate)
    CustomerFactory(name="Teammate Co", csm=teammate)
    assert names_in(manager_client.get(book_url(csm=csm.pk))) == ["Northwind Traders"]
    assert names_in(manager_client.get(book_url(csm=teammate.pk))) == ["Teammate Co"]


def test_manager_picker_cannot_show_a_non_team_csms_book(manager_client, other_csm, other_customer):
    response = manager_client.get(book_url(csm=other_csm.pk))
    assert response.status_code == 403
    assert "Southpaw Labs" not in response.content.decode()
    response = manager_client.get(book_url(csm=other_csm.pk), **HTMX)
    assert response.status_code == 403


def test_admin_sees_all_and_may_pick_any_csm(admin_client, other_csm, customer, other_customer):
    assert sorted(names_in(admin_client.get(book_url()))) == ["Northwind Traders", "Southpaw Labs"]
    assert names_in(admin_client.get(book_url(csm=other_csm.pk))) == ["Southpaw Labs"]


def test_empty_book_says_what_to_do_next(anonymous):
    lonely = UserFactory()
    response = client_for(lonely).get(book_url())
    body = response.content.decode()
    assert "Your book is empty" in body
    assert "assign customers to you" in body


# --- Book: search, filters, sorting, pagination ---------------------------------------------------


@pytest.fixture
def varied_book(csm):
    today = timezone.localdate()
    acme = CustomerFactory(
        name="Acme Corp",
        external_id="ACME-9",
        csm=csm,
        segment="Enterprise",
        lifecycle_stage=LifecycleStage.MATURE,
        renewal_date=today + dt.timedelta(days=20),
    )
    bolt = CustomerFactory(
        name="Bolt Bikes",
        external_id="BB-1",
        csm=csm,
        segment="SMB",
        lifecycle_stage=LifecycleStage.ONBOARDING,
        renewal_date=today + dt.timedelta(days=80),
    )
    cargo = CustomerFactory(
        name="Cargo Ltd",
        external_id="CG-7",
        csm=csm,
        segment="SMB",
        lifecycle_stage=LifecycleStage.AT_RENEWAL,
        renewal_date=today + dt.timedelta(days=170),
    )
    delta = CustomerFactory(
        name="Delta Dynamics",
        external_id="DD-2",
        csm=csm,
        segment="Mid-Market",
        lifecycle_stage=LifecycleStage.ADOPTING,
        renewal_date=None,
    )
    now = timezone.now()
    TouchpointFactory(customer=acme, occurred_at=now - dt.timedelta(days=40))
    TouchpointFactory(customer=bolt, occurred_at=now - dt.timedelta(days=2))
    TouchpointFactory(customer=cargo, occurred_at=now - dt.timedelta(days=10))
    PulseFactory(customer=acme, score=5, created_at=now - dt.timedelta(days=9))
    PulseFactory(customer=acme, score=2, created_at=now - dt.timedelta(days=1))  # the latest counts
    PulseFactory(customer=bolt, score=4)
    PulseFactory(customer=cargo, score=3)
    return {"acme": acme, "bolt": bolt, "cargo": cargo, "delta": delta}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "bolt"}, ["Bolt Bikes"]),
        ({"q": "cg-7"}, ["Cargo Ltd"]),
        ({"q": "zzz"}, []),
        ({"segment": "SMB"}, ["Bolt Bikes", "Cargo Ltd"]),
        ({"stage": "mature"}, ["Acme Corp"]),
        ({"renewal": "30"}, ["Acme Corp"]),
        ({"renewal": "90"}, ["Acme Corp", "Bolt Bikes"]),
        ({"renewal": "180"}, ["Acme Corp", "Bolt Bikes", "Cargo Ltd"]),
        ({"segment": "SMB", "renewal": "90"}, ["Bolt Bikes"]),
        ({"stage": "bogus", "renewal": "7"}, ["Acme Corp", "Bolt Bikes", "Cargo Ltd", "Delta Dynamics"]),
    ],
)
def test_book_search_and_filters(csm_client, varied_book, params, expected):
    response = csm_client.get(book_url(**params))
    assert response.status_code == 200
    assert names_in(response) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Acme Corp", "Bolt Bikes", "Cargo Ltd", "Delta Dynamics"]),
        ("-name", ["Delta Dynamics", "Cargo Ltd", "Bolt Bikes", "Acme Corp"]),
        ("renewal", ["Acme Corp", "Bolt Bikes", "Cargo Ltd", "Delta Dynamics"]),
        ("-renewal", ["Cargo Ltd", "Bolt Bikes", "Acme Corp", "Delta Dynamics"]),
        ("last_touch", ["Acme Corp", "Cargo Ltd", "Bolt Bikes", "Delta Dynamics"]),
        ("-last_touch", ["Bolt Bikes", "Cargo Ltd", "Acme Corp", "Delta Dynamics"]),
        ("pulse", ["Acme Corp", "Cargo Ltd", "Bolt Bikes", "Delta Dynamics"]),
        ("-pulse", ["Bolt Bikes", "Cargo Ltd", "Acme Corp", "Delta Dynamics"]),
        ("nonsense", ["Acme Corp", "Bolt Bikes", "Cargo Ltd", "Delta Dynamics"]),
    ],
)
def test_book_sorting_keeps_missing_values_last(csm_client, varied_book, sort, expected):
    assert names_in(csm_client.get(book_url(sort=sort))) == expected


def test_book_shows_latest_pulse_and_last_touchpoint(csm_client, varied_book):
    response = csm_client.get(book_url(q="Acme"))
    (acme,) = response.context["page"].object_list
    assert acme.latest_pulse_score == 2
    assert acme.last_touchpoint_at is not None
    body = response.content.decode()
    assert "40 days ago" in body
    assert "in 20 days" in body


def test_book_sort_links_keep_filters(csm_client, varied_book):
    body = csm_client.get(book_url(segment="SMB", sort="name")).content.decode()
    assert "?segment=SMB&amp;sort=-name" in body  # clicking the sorted header again reverses it
    assert "?segment=SMB&amp;sort=renewal" in body


def test_book_paginates_by_50(csm_client, csm):
    CustomerFactory.create_batch(120, csm=csm)
    assert len(names_in(csm_client.get(book_url()))) == 50
    page3 = csm_client.get(book_url(page=3))
    assert len(names_in(page3)) == 20
    assert "Showing 101\N{EN DASH}120 of 120 customers" in page3.content.decode()
    assert csm_client.get(book_url(page=999)).context["page"].number == 3
    assert csm_client.get(book_url(page="abc")).context["page"].number == 1


def test_book_filtered_to_nothing_offers_to_clear(csm_client, varied_book):
    body = csm_client.get(book_url(q="nothing-like-this")).content.decode()
    assert "No customers match these filters" in body
    assert "Clear filters" in body


# --- Book: htmx -----------------------------------------------------------------------------------


def test_book_htmx_request_returns_the_rows_partial_only(csm_client, varied_book):
    response = csm_client.get(book_url(segment="SMB"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="book-filters"' not in body
    assert 'id="book-table"' in body
    assert "Bolt Bikes" in body
    assert "Acme Corp" not in body
    assert "HX-Request" in response["Vary"]


def test_book_full_page_also_varies_on_htmx(csm_client, varied_book):
    response = csm_client.get(book_url())
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_book_history_restore_gets_the_full_page(csm_client, varied_book):
    response = csm_client.get(book_url(), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


# --- Book: query count ----------------------------------------------------------------------------


def _populate(csm, n: int) -> None:
    customers = CustomerFactory.create_batch(n, csm=csm)
    for c in customers:
        TouchpointFactory(customer=c)
        PulseFactory(customer=c)


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["csm", "manager", "admin_user"])
def test_book_query_count_is_constant_between_10_and_200_customers(
    request, who, csm, django_assert_max_num_queries
):
    viewer = request.getfixturevalue(who)
    client = client_for(viewer)
    _populate(csm, 10)
    small = _count_queries(client, book_url())
    _populate(csm, 190)
    with django_assert_max_num_queries(small):
        response = client.get(book_url(sort="pulse"))
    assert len(response.context["page"].object_list) == 50
    assert _count_queries(client, book_url()) == small
    assert small <= 8


# --- Customer page --------------------------------------------------------------------------------


def test_customer_page_shows_details_contacts_and_timeline_newest_first(csm_client, customer):
    ContactFactory(customer=customer, name="Dana Buyer", title="COO")
    now = timezone.now()
    TouchpointFactory(customer=customer, summary="Old call", occurred_at=now - dt.timedelta(days=30))
    PulseFactory(customer=customer, score=3, note="Middle pulse", created_at=now - dt.timedelta(days=10))
    TouchpointFactory(
        customer=customer, kind="qbr", summary="Fresh QBR", occurred_at=now - dt.timedelta(days=1)
    )
    response = csm_client.get(customer.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("Northwind Traders", "NW-1", "Mid-Market", "Casey Csm", "Dana Buyer", "COO", "in 120 days"):
        assert text in body
    assert body.index("Fresh QBR") < body.index("Middle pulse") < body.index("Old call")
    assert 'id="touchpoint-form"' in body
    assert 'id="pulse-form"' in body
    assert "Excellent: strong champion" in body  # the pulse rubric next to the choices


def test_any_user_can_read_any_customer_but_only_editors_see_forms(csm_client, other_customer):
    response = csm_client.get(other_customer.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Southpaw Labs" in body
    assert 'id="touchpoint-form"' not in body
    assert 'id="pulse-form"' not in body
    assert "only its CSM" in body


def test_unknown_customer_is_a_404_in_product_style(csm_client):
    response = csm_client.get(reverse("customer_detail", kwargs={"external_id": "NOPE"}))
    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()


def test_customer_page_query_count_does_not_grow_with_the_timeline(
    csm_client, customer, django_assert_max_num_queries
):
    contact = ContactFactory(customer=customer)
    for _ in range(3):
        TouchpointFactory(customer=customer).contacts.add(contact)
        PulseFactory(customer=customer)
    small = _count_queries(csm_client, customer.get_absolute_url())
    for _ in range(40):
        TouchpointFactory(customer=customer).contacts.add(contact)
        PulseFactory(customer=customer)
    with django_assert_max_num_queries(small):
        csm_client.get(customer.get_absolute_url())


# --- Logging touchpoints and pulses: permissions --------------------------------------------------


def test_csm_logs_a_touchpoint_on_own_customer(csm_client, csm, customer):
    contact = ContactFactory(customer=customer)
    response = csm_client.post(touchpoint_url(customer), touchpoint_data(contacts=[contact.pk]))
    assert response.status_code == 302
    assert response.url == customer.get_absolute_url()
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.author, touchpoint.kind, touchpoint.sentiment) == (csm, "call", "positive")
    assert list(touchpoint.contacts.all()) == [contact]
    assert "Touchpoint logged." in csm_client.get(customer.get_absolute_url()).content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_csm_cannot_log_on_other_csms_customer(csm_client, other_customer, headers):
    assert csm_client.post(touchpoint_url(other_customer), touchpoint_data(), **headers).status_code == 403
    assert csm_client.post(pulse_url(other_customer), {"score": "4"}, **headers).status_code == 403
    assert not Touchpoint.objects.exists()
    assert not Pulse.objects.exists()


def test_manager_can_log_on_team_customer_not_other_team(manager_client, manager, customer, other_customer):
    assert manager_client.post(touchpoint_url(customer), touchpoint_data()).status_code == 302
    assert manager_client.post(pulse_url(customer), {"score": "3"}).status_code == 302
    assert manager_client.post(touchpoint_url(other_customer), touchpoint_data()).status_code == 403
    assert manager_client.post(pulse_url(other_customer), {"score": "3"}).status_code == 403
    assert list(Touchpoint.objects.values_list("customer__name", "author__email")) == [
        ("Northwind Traders", manager.email)
    ]
    assert list(Pulse.objects.values_list("customer__name", flat=True)) == ["Northwind Traders"]


def test_admin_can_log_on_any_customer(admin_client, customer, other_customer):
    orphan = CustomerFactory(csm=None)
    for target in (customer, other_customer, orphan):
        assert admin_client.post(touchpoint_url(target), touchpoint_data()).status_code == 302
        assert admin_client.post(pulse_url(target), {"score": "5"}).status_code == 302
    assert Touchpoint.objects.count() == 3
    assert Pulse.objects.count() == 3


def test_manager_sees_forms_on_team_customer_but_not_other_team(manager_client, customer, other_customer):
    assert 'id="pulse-form"' in manager_client.get(customer.get_absolute_url()).content.decode()
    assert 'id="pulse-form"' not in manager_client.get(other_customer.get_absolute_url()).content.decode()


def test_logging_urls_are_post_only(csm_client, customer):
    assert csm_client.get(touchpoint_url(customer)).status_code == 405
    assert csm_client.get(pulse_url(customer)).status_code == 405


def test_logging_on_unknown_customer_is_404(csm_client):
    url = reverse("pulse_create", kwargs={"external_id": "NOPE"})
    assert csm_client.post(url, {"score": "3"}).status_code == 404


# --- Logging: validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("0", "Pick a score from 1 to 5"),
        ("6", "Pick a score from 1 to 5"),
        ("", "Pick a score from 1 to 5."),
        ("four", "Pick a score"),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX])
def test_pulse_off_the_scale_shows_inline_error_and_writes_nothing(
    csm_client, customer, score, message, headers
):
    response = csm_client.post(pulse_url(customer), {"score": score, "note": "hm"}, **headers)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'class="field__error"' in body
    assert ("<html" in body) is not bool(headers)
    assert not Pulse.objects.exists()


def test_touchpoint_more_than_a_day_ahead_is_rejected(csm_client, customer):
    future = timezone.now() + dt.timedelta(days=2)
    response = csm_client.post(
        touchpoint_url(customer), touchpoint_data(occurred_at=local_input(future)), **HTMX
    )
    assert response.status_code == 200
    assert "This date is in the future" in response.content.decode()
    assert not Touchpoint.objects.exists()


def test_touchpoint_a_few_hours_ahead_is_accepted(csm_client, customer):
    soon = timezone.now() + dt.timedelta(hours=3)
    response = csm_client.post(touchpoint_url(customer), touchpoint_data(occurred_at=local_input(soon)))
    assert response.status_code == 302
    assert Touchpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": None}, "Choose the type of touchpoint."),
        ({"kind": "telepathy"}, "Select a valid choice"),
        ({"summary": ""}, "Write a short summary"),
        ({"occurred_at": "yesterday-ish"}, "Enter a valid date/time"),
        ({"occurred_at": ""}, "This field is required"),
        ({"sentiment": "ecstatic"}, "Select a valid choice"),
    ],
)
def test_invalid_touchpoint_shows_inline_errors_and_writes_nothing(csm_client, customer, overrides, message):
    response = csm_client.post(touchpoint_url(customer), touchpoint_data(**overrides), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'id="touchpoint-form"' in body
    assert "<html" not in body
    assert not Touchpoint.objects.exists()


def test_touchpoint_with_another_customers_contact_is_rejected(csm_client, customer, other_customer):
    stranger = ContactFactory(customer=other_customer)
    response = csm_client.post(touchpoint_url(customer), touchpoint_data(contacts=[stranger.pk]), **HTMX)
    assert "Select a valid choice" in response.content.decode()
    assert not Touchpoint.objects.exists()


def test_invalid_post_without_js_rerenders_the_whole_page_with_errors(csm_client, customer):
    response = csm_client.post(touchpoint_url(customer), touchpoint_data(kind=None, summary="Kept text"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "Choose the type of touchpoint." in body
    assert "Kept text" in body  # what the user typed survives


# --- Logging: htmx success ------------------------------------------------------------------------


def test_htmx_touchpoint_returns_fresh_form_and_prepends_to_timeline(csm_client, customer):
    response = csm_client.post(
        touchpoint_url(customer), touchpoint_data(kind="qbr", summary="Renewal looks safe"), **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="touchpoint-form"' in body
    assert "Touchpoint logged" in body
    assert "Renewal looks safe" in body  # the new timeline item, out of band
    assert 'hx-swap-oob="afterbegin:#timeline"' in body
    assert 'id="customer-snapshot"' in body  # the snapshot tiles refresh too
    form_html = body[body.index('id="touchpoint-form"') : body.index("</form>")]
    assert "Renewal looks safe" not in form_html  # the form is reset
    touchpoint = Touchpoint.objects.get()
    assert f'id="touchpoint-{touchpoint.pk}"' in body


def test_htmx_pulse_prepends_to_timeline(csm_client, customer):
    response = csm_client.post(pulse_url(customer), {"score": "2", "note": "Sponsor left"}, **HTMX)
    body = response.content.decode()
    pulse = Pulse.objects.get()
    assert (pulse.score, pulse.note) == (2, "Sponsor left")
    assert f'id="pulse-{pulse.pk}"' in body
    assert "Pulse logged" in body
    assert "2 / 5" in body


# --- Error pages ----------------------------------------------------------------------------------


def test_403_page_is_in_product_style(csm_client, other_csm):
    body = csm_client.get(book_url(csm=other_csm.pk)).content.decode()
    assert "You don't have access to this" in body
    assert "Go to your book" in body


def test_500_page_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "app.css" in html


# --- Timeline paging ---------------------------------------------------------------------------------


@pytest.fixture
def busy_customer(customer):
    now = timezone.now()
    for i in range(30):
        TouchpointFactory(
            customer=customer, summary=f"tp-{i:02d}", occurred_at=now - dt.timedelta(days=2 * i + 1)
        )
    for i in range(10):
        PulseFactory(customer=customer, note=f"pulse-{i:02d}", created_at=now - dt.timedelta(days=6 * i))
    return customer


def _timeline_ids(body: str) -> list[str]:
    return re.findall(r'id="((?:touchpoint|pulse)-\d+)"', body)


def _next_cursor(body: str) -> str | None:
    found = re.search(r'hx-get="[^"]*/timeline/\?before=([^"&]+)', body)
    return html.unescape(unquote(found.group(1))) if found else None


def test_timeline_shows_25_then_loads_older_in_place(csm_client, busy_customer):
    page = csm_client.get(busy_customer.get_absolute_url()).content.decode()
    first = _timeline_ids(page)
    assert len(first) == 25
    assert "Show older activity" in page
    url = reverse("customer_timeline", kwargs={"external_id": busy_customer.external_id})
    cursor = _next_cursor(page)
    more = csm_client.get(url, {"before": cursor}, **HTMX).content.decode()
    rest = _timeline_ids(more)
    assert len(rest) == 15
    assert "Show older activity" not in more
    assert "<html" not in more
    # Without JavaScript the link opens the page from that position.
    without_js = _timeline_ids(
        csm_client.get(busy_customer.get_absolute_url(), {"before": cursor}).content.decode()
    )
    assert without_js == rest
    everything = first + rest
    assert len(set(everything)) == 40  # the pages join up without gaps or repeats


def test_timeline_newest_first_across_kinds(csm_client, busy_customer):
    body = csm_client.get(busy_customer.get_absolute_url()).content.decode()
    assert body.index("pulse-00") < body.index("tp-00") < body.index("tp-01") < body.index("tp-02")
    assert body.index("tp-02") < body.index("pulse-01") < body.index("tp-03")


def test_timeline_of_another_csms_customer_is_readable(other_csm_client, busy_customer):
    url = reverse("customer_timeline", kwargs={"external_id": busy_customer.external_id})
    assert other_csm_client.get(url).status_code == 200
    assert Client().get(url).status_code == 302


def test_stale_pulse_is_flagged(csm_client, customer):
    PulseFactory(customer=customer, score=4, created_at=timezone.now() - dt.timedelta(days=75))
    assert "out of date" in csm_client.get(customer.get_absolute_url()).content.decode()
    assert "score--stale" in csm_client.get(book_url()).content.decode()


def test_csrf_failure_page_is_in_product_style(csm):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": csm.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Your session expired" in response.content.decode()
