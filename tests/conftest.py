"""Personas (docs/architecture.md#roles-and-permissions): csm and manager share a team; other_csm is in
another manager's team."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import CustomerFactory, TeamFactory, UserFactory

PASSWORD = "pass-1234-word"


@pytest.fixture
def manager(db):
    return UserFactory(email="manager@example.com", full_name="Maria Manager", role=Role.MANAGER)


@pytest.fixture
def other_manager(db):
    return UserFactory(email="other.manager@example.com", full_name="Oscar Othermanager", role=Role.MANAGER)


@pytest.fixture
def csm(db, manager):
    user = UserFactory(email="csm@example.com", full_name="Casey Csm", role=Role.CSM)
    TeamFactory(name="Team North", manager=manager).members.add(user)
    return user


@pytest.fixture
def other_csm(db, other_manager):
    user = UserFactory(email="other.csm@example.com", full_name="Olive Othercsm", role=Role.CSM)
    TeamFactory(name="Team South", manager=other_manager).members.add(user)
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@example.com", full_name="Ada Admin", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def anonymous() -> Client:
    return Client()


@pytest.fixture
def customer(csm):
    return CustomerFactory(name="Northwind Traders", external_id="NW-1", csm=csm, segment="Mid-Market")


@pytest.fixture
def other_customer(other_csm):
    return CustomerFactory(name="Southpaw Labs", external_id="SP-1", csm=other_csm, segment="SMB")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def csm_client(csm) -> Client:
    return client_for(csm)


@pytest.fixture
def other_csm_client(other_csm) -> Client:
    return client_for(other_csm)


@pytest.fixture
def manager_client(manager) -> Client:
    return client_for(manager)


@pytest.fixture
def admin_client(admin_user) -> Client:
    return client_for(admin_user)


@pytest.fixture(autouse=True)
def _fresh_relative_usage_distribution():
    """Relative usage memoizes a day's population in the process and shares the live path's hourly anchor
    through the cache (metrics/health/factors/relative_usage.py); each test has its own data for the same
    days, so both are dropped (shared: a new anchor version)."""
    from metrics.health.factors import relative_usage

    relative_usage.forget(shared=True)
    yield
    relative_usage.forget(shared=True)
