"""The customer page gathers forms and panels from several apps; its HTML ids must stay unique
(a duplicated id breaks <label for> and so the form's accessibility)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

pytestmark = pytest.mark.django_db


def test_customer_page_has_unique_element_ids(csm_client, customer):
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
