"""One meaning for every query parameter: known to the endpoint, given once unless it takes several.

Vocabulary filters (area, status, product, forecast_category) take several values, meaning
either; every other parameter takes one, and a repeat is a 400 naming it, never "the last one
wins". Detail endpoints, the forecast, the data-quality report and the vocabulary refuse
parameters they do not read, as the lists always did.
"""

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Area, Status
from crm.models import Opportunity
from crm.services import EDITOR_PERMISSIONS
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REPORT_PERMS = ["crm.view_revenueactual", "crm.view_revenuetarget"]


@pytest.fixture
def client() -> APIClient:
    user = UserFactory(permissions=[f"crm.{codename}" for codename in EDITOR_PERMISSIONS] + REPORT_PERMS)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def rows():
    france = CustomerFactory(cid=5001, area=Area.FRANCE, account_executive="Inès Morel")
    uk = CustomerFactory(cid=5002, area=Area.UK, account_executive="Ines Morel")
    CustomerFactory(cid=5003, area=Area.GERMANY)
    return {
        "proposal": OpportunityFactory(customer=france, status=Status.PROPOSAL),
        "negotiation": OpportunityFactory(customer=uk, status=Status.NEGOTIATION),
        "won": OpportunityFactory(customer=uk, status=Status.CLOSED_WON),
    }


def _errors(response) -> list[tuple[str, str]]:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    return [(error["attr"], error["code"]) for error in body["errors"]]


# --- Several values: the vocabulary filters ---------------------------------------------------


def test_a_repeated_area_means_either(client, rows):
    """?area=France&area=UK lists the customers of both areas (not only the last one named)."""
    response = client.get(reverse("api:customer-list") + "?area=France&area=UK")
    assert response.status_code == HTTPStatus.OK
    assert [row["cid"] for row in response.json()] == [5001, 5002]


def test_several_statuses_on_the_opportunity_list(client, rows):
    """?status=Proposal&status=Negotiation lists both kinds and nothing else."""
    response = client.get(reverse("api:opportunity-list") + "?status=Proposal&status=Negotiation")
    assert response.status_code == HTTPStatus.OK
    assert {row["oid"] for row in response.json()} == {rows["proposal"].oid, rows["negotiation"].oid}


def test_the_schema_says_which_filters_take_several_values(openapi_schema):
    """Vocabulary filters are repeatable arrays (form style, exploded); `ordering` is one comma list."""

    def repeatable(parameters) -> set[str]:
        return {
            p["name"]
            for p in parameters
            if p["schema"].get("type") == "array"
            and p.get("explode", True)
            and p.get("style", "form") == "form"
        }

    opportunities = openapi_schema["paths"]["/api/opportunities"]["get"]["parameters"]
    assert repeatable(opportunities) == {"area", "status", "product", "forecast_category"}
    (ordering,) = [p for p in opportunities if p["name"] == "ordering"]
    assert ordering["explode"] is False  # one value: comma-separated fields
    customers = openapi_schema["paths"]["/api/customers"]["get"]["parameters"]
    assert repeatable(customers) == {"area"}
    actuals = openapi_schema["paths"]["/api/revenue/actuals"]["get"]["parameters"]
    assert repeatable(actuals) == {"area"}


# --- One value: every other parameter ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "query", "param"),
    [
        ("api:revenue-target-list", "fiscal_year=2025&fiscal_year=2026", "fiscal_year"),
        ("api:opportunity-list", "limit=2000&limit=5", "limit"),
        ("api:opportunity-list", "cid=5001&cid=5002", "cid"),
        ("api:customer-list", "search=a&search=b", "search"),
        ("api:customer-list", "ordering=cid&ordering=-cid", "ordering"),
        ("api:forecast", "fiscal_year=2025&fiscal_year=2026", "fiscal_year"),
        ("api:data-quality", "as_of=2025-01-01&as_of=2025-02-01", "as_of"),
    ],
)
def test_a_repeated_one_value_parameter_is_a_400_naming_it(client, rows, name, query, param):
    """A second value for a parameter that takes one is refused, not silently preferred."""
    RevenueTargetFactory()
    response = client.get(reverse(name) + "?" + query)
    assert (param, "repeated_parameter") in _errors(response)


# --- Unknown parameters on every endpoint -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        lambda rows: reverse("api:customer-detail", args=[5001]),
        lambda rows: reverse("api:opportunity-detail", args=[rows["proposal"].oid]),
        lambda rows: reverse("api:forecast"),
        lambda rows: reverse("api:data-quality"),
        lambda rows: reverse("api:vocabulary"),
    ],
    ids=["customer", "opportunity", "forecast", "data-quality", "vocabulary"],
)
def test_an_unknown_parameter_on_a_read_that_is_not_a_list_is_a_400(client, rows, url):
    """`?fields=x` on a detail or a report is a mistake to report, as on the lists."""
    RevenueActualFactory()
    assert _errors(client.get(url(rows), {"fields": "x"})) == [("fields", "unknown_parameter")]
    assert client.get(url(rows), {"format": "json"}).status_code == HTTPStatus.OK


def test_an_unknown_parameter_on_a_write_is_a_400_and_nothing_changes(client, rows):
    """PATCH and DELETE with a parameter they do not read change nothing."""
    url = reverse("api:opportunity-detail", args=[rows["proposal"].oid])
    patch = client.patch(url + "?dry_run=1", {"probability": 60}, format="json")
    delete = client.delete(url + "?force=true")
    assert _errors(patch) == [("dry_run", "unknown_parameter")]
    assert _errors(delete) == [("force", "unknown_parameter")]
    assert Opportunity.objects.get(oid=rows["proposal"].oid).probability == rows["proposal"].probability


# --- Exact filter values (MySQL: the collation would match other spellings) -------------------


@pytest.mark.mysql
def test_a_status_filter_does_not_match_a_legacy_spelling(client, rows):
    """?status=Closed Won lists the deals stored so, not a legacy `closed won` row (the reports' rule)."""
    legacy = OpportunityFactory(
        customer=rows["won"].customer, status="closed won", probability=100, forecast_category="Closed"
    )
    response = client.get(reverse("api:opportunity-list"), {"status": Status.CLOSED_WON})
    assert response.status_code == HTTPStatus.OK
    assert [row["oid"] for row in response.json()] == [rows["won"].oid]
    assert legacy.oid not in {row["oid"] for row in response.json()}


@pytest.mark.mysql
def test_a_name_filter_matches_the_name_exactly(client, rows):
    """?account_executive=Ines Morel finds Ines, not Inès: a name filter is exact on every backend."""
    response = client.get(reverse("api:customer-list"), {"account_executive": "Ines Morel"})
    assert [row["cid"] for row in response.json()] == [5002]
    response = client.get(reverse("api:customer-list"), {"account_executive": "ines morel"})
    assert response.json() == []
