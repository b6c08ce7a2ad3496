"""Numbers and dates are ASCII digits, in bodies and query strings alike (crm.numbers).

Python's int() takes "١٠٣٩" (Arabic-Indic digits) and "1_039"; the API does not: each is a 400
naming the field or parameter, and nothing is written.
"""

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Opportunity
from crm.services import EDITOR_PERMISSIONS
from crm.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ARABIC_1039 = "\u0661\u0660\u0663\u0669"
ARABIC_50 = "\u0665\u0660"
ARABIC_DATE = "\u0662\u0660\u0662\u0665-\u0660\u0663-\u0663\u0661"  # 2025-03-31


@pytest.fixture
def client() -> APIClient:
    perms = [f"crm.{c}" for c in EDITOR_PERMISSIONS] + ["crm.view_revenueactual", "crm.view_revenuetarget"]
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(permissions=perms)).key}"
    )
    return api


def _body(**overrides) -> dict:
    return {
        "cid": 1039,
        "opportunity_name": "Digits",
        "product": "Payroll",
        "status": "Proposal",
        "est_monthly_revenue": "100.00",
        "expected_close_date": "2025-03-31",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cid", ARABIC_1039),
        ("cid", "1_039"),
        ("cid", " 1039"),
        ("probability", ARABIC_50),
        ("expected_close_date", ARABIC_DATE),
    ],
)
def test_a_body_number_or_date_in_other_digits_is_a_400(client, field, value):
    """The same value in ASCII is accepted; in another script or with an underscore it is refused."""
    CustomerFactory(cid=1039)
    response = client.post(reverse("api:opportunity-list"), _body(**{field: value}), format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert [(e["attr"], e["code"]) for e in response.json()["errors"]] == [(field, "invalid")]
    assert not Opportunity.objects.exists()
    assert (
        client.post(reverse("api:opportunity-list"), _body(), format="json").status_code == HTTPStatus.CREATED
    )


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("api:opportunity-list", "cid", ARABIC_1039),
        ("api:opportunity-list", "limit", "\u0665"),
        ("api:opportunity-list", "offset", "1_0"),
        ("api:opportunity-list", "expected_close_date_from", ARABIC_DATE),
        ("api:revenue-target-list", "fiscal_year", "\u0662\u0660\u0662\u0665"),
        ("api:forecast", "fiscal_year", "\u0662\u0660\u0662\u0665"),
        ("api:forecast", "as_of", ARABIC_DATE),
    ],
)
def test_a_query_number_or_date_in_other_digits_is_a_400(client, name, param, value):
    """Query parameters follow the same rule, naming the parameter."""
    response = client.get(reverse(name), {param: value})
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert param in {e["attr"] for e in response.json()["errors"]}
