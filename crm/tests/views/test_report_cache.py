"""The forecast and data-quality answers are reused until a write through the service or the admin."""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.choices import Area, Status
from crm.models import Opportunity, RevenueActual
from crm.tests.factories import CustomerFactory, OpportunityFactory, RevenueActualFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = {"fiscal_year": 2025, "as_of": "2024-12-15"}
PERMS = [
    "crm.view_customer",
    "crm.change_customer",
    "crm.view_opportunity",
    "crm.add_opportunity",
    "crm.change_opportunity",
    "crm.delete_opportunity",
    "crm.view_revenueactual",
    "crm.change_revenueactual",
    "crm.view_revenuetarget",
]


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.REPORT_CACHE_SECONDS = 60


@pytest.fixture
def user():
    return UserFactory(is_staff=True, permissions=PERMS)


@pytest.fixture
def api(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.fixture
def france():
    customer = CustomerFactory(cid=8101, area=Area.FRANCE)
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2024, 11, 1), revenue=Decimal("1000.00"))
    OpportunityFactory(
        customer=customer, status=Status.PROPOSAL, expected_close_date=datetime.date(2025, 2, 1)
    )
    return customer


def _france(api) -> dict:
    response = api.get(reverse("api:forecast"), PERIOD)
    assert response.status_code == HTTPStatus.OK
    return next(row for row in response.json()["areas"] if row["area"] == Area.FRANCE)


def _report_queries(queries) -> list[str]:
    tables = ("crm_opportunities", "customer", "revenue_actuals", "revenue_targets")
    return [q["sql"] for q in queries if any(f"`{t}`" in q["sql"] or f'"{t}"' in q["sql"] for t in tables)]


@pytest.mark.parametrize("url_name", ["api:forecast", "api:data-quality"])
def test_a_repeated_request_is_answered_from_the_cache(api, france, url_name):
    """The second identical request reads no CRM table and answers the same JSON."""
    first = api.get(reverse(url_name), PERIOD)

    with CaptureQueriesContext(connection) as queries:
        second = api.get(reverse(url_name), PERIOD)

    assert second.status_code == HTTPStatus.OK
    assert second.json() == first.json()
    assert _report_queries(queries) == []


def test_opportunity_writes_through_the_api_invalidate_the_forecast(api, france):
    """Create, update and delete through the API each show in the next forecast."""
    before = _france(api)["open_pipeline_count"]
    created = api.post(
        reverse("api:opportunity-list"),
        {
            "cid": france.cid,
            "opportunity_name": "Cached?",
            "product": "Payroll",
            "status": Status.NEGOTIATION,
            "est_monthly_revenue": "100.00",
            "expected_close_date": "2025-03-01",
        },
        format="json",
    )
    assert created.status_code == HTTPStatus.CREATED
    assert _france(api)["open_pipeline_count"] == before + 1

    oid = created.json()["oid"]
    updated = api.patch(
        reverse("api:opportunity-detail", args=[oid]), {"status": Status.CLOSED_LOST}, format="json"
    )
    assert updated.status_code == HTTPStatus.OK
    assert _france(api)["open_pipeline_count"] == before

    api.patch(reverse("api:opportunity-detail", args=[oid]), {"status": Status.PROPOSAL}, format="json")
    assert _france(api)["open_pipeline_count"] == before + 1
    deleted = api.delete(reverse("api:opportunity-detail", args=[oid]))
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert _france(api)["open_pipeline_count"] == before


def test_admin_writes_of_revenue_and_customers_invalidate_the_forecast(api, user, france):
    """Changing an actual or a customer's area in the admin shows in the next forecast."""
    admin = Client()
    admin.force_login(user)
    assert _france(api)["actuals_to_date"] == "1000.00"
    actual = RevenueActual.objects.get(area=Area.FRANCE)

    response = admin.post(
        reverse("admin:crm_revenueactual_change", args=[actual.pk]),
        {"area": Area.FRANCE, "month": "2024-11-01", "revenue": "1500.00"},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert _france(api)["actuals_to_date"] == "1500.00"

    customer_form = {
        "cid": france.cid,
        "customer_name": france.customer_name,
        "area": Area.GERMANY,
        "is_active": "on",
        "opportunities-TOTAL_FORMS": "0",
        "opportunities-INITIAL_FORMS": "0",
    }
    response = admin.post(reverse("admin:crm_customer_change", args=[france.cid]), customer_form)

    assert response.status_code == HTTPStatus.FOUND
    assert _france(api)["open_pipeline_count"] == 0


def test_a_direct_database_write_waits_for_the_cache_to_expire(api, france, settings):
    """A row written past the service is not in a cached answer; with the cache off it is at once."""
    before = _france(api)["open_pipeline_count"]
    OpportunityFactory(customer=france, status=Status.PROPOSAL, expected_close_date=datetime.date(2025, 3, 1))

    assert _france(api)["open_pipeline_count"] == before
    settings.REPORT_CACHE_SECONDS = 0
    assert _france(api)["open_pipeline_count"] == before + 1
    assert Opportunity.objects.count() == 2
