"""manage.py snapshot_forecast and GET /api/forecast/snapshots through the HTTP API."""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.choices import Area, Status
from crm.models import ForecastSnapshot
from crm.tests.factories import CustomerFactory, OpportunityFactory, RevenueTargetFactory, UserFactory

pytestmark = pytest.mark.django_db

FORECAST_PERMS = ["crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget"]
URL = reverse("api:forecast-snapshots")


def _client(api_client, perms):
    user = UserFactory(permissions=perms)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.fixture
def reader(api_client):
    return _client(api_client, FORECAST_PERMS)


@pytest.fixture
def germany():
    RevenueTargetFactory(area=Area.GERMANY, fiscal_year=2025, target=Decimal("100000.00"))
    return OpportunityFactory(
        customer=CustomerFactory(area=Area.GERMANY),
        status=Status.PROPOSAL,
        probability=50,
        est_monthly_revenue=Decimal("1000.00"),
        expected_close_date=datetime.date(2025, 3, 15),
    )


def _snapshot(capsys, as_of):
    call_command("snapshot_forecast", "--fiscal-year", "2025", "--as-of", as_of)
    return capsys.readouterr().out.strip()


def test_snapshot_stores_the_forecast_of_the_day_once(reader, germany, capsys):
    """The stored rows are the forecast's rows of that day; a second run the same day replaces nothing."""
    assert _snapshot(capsys, "2024-12-01") == "Stored the forecast of FY2025 as of 2024-12-01: 6 rows."
    forecast = reader.get(reverse("api:forecast"), {"fiscal_year": 2025, "as_of": "2024-12-01"}).json()

    germany.est_monthly_revenue = Decimal("3000.00")
    germany.save()
    assert _snapshot(capsys, "2024-12-01") == (
        "A snapshot of FY2025 as of 2024-12-01 is already stored (6 rows); nothing was replaced."
    )
    assert ForecastSnapshot.objects.count() == 6

    response = reader.get(URL, {"fiscal_year": 2025})
    assert response.status_code == HTTPStatus.OK
    rows = response.json()
    taken_at = rows[0]["taken_at"]
    assert rows == [
        {**row, "fiscal_year": 2025, "as_of": "2024-12-01", "taken_at": taken_at}
        for row in [*forecast["areas"], forecast["total"]]
    ]
    germany_row = rows[1]
    # 1000 x 50% x 3 months after March: the value before the change, not after.
    assert (germany_row["area"], germany_row["weighted_pipeline"]) == ("Germany", "1500.00")


def test_series_of_one_area_oldest_first_within_from_and_to(
    reader, germany, capsys, django_assert_num_queries
):
    """area= keeps one row per day; from/to bound the days inclusively; oldest first."""
    for as_of, revenue in [("2024-12-03", "3000.00"), ("2024-12-01", "1000.00"), ("2024-12-02", "2000.00")]:
        germany.est_monthly_revenue = Decimal(revenue)
        germany.save()
        _snapshot(capsys, as_of)
    with django_assert_num_queries(3):  # the token, the access entry, the rows
        response = reader.get(
            URL, {"fiscal_year": 2025, "area": "Germany", "from": "2024-12-02", "to": "2024-12-03"}
        )
    assert response.status_code == HTTPStatus.OK
    assert [(r["as_of"], r["area"], r["open_pipeline_mrr"]) for r in response.json()] == [
        ("2024-12-02", "Germany", "2000.00"),
        ("2024-12-03", "Germany", "3000.00"),
    ]
    total = reader.get(URL, {"fiscal_year": 2025, "area": "Total", "to": "2024-12-01"}).json()
    assert [(r["as_of"], r["area"], r["open_pipeline_mrr"]) for r in total] == [
        ("2024-12-01", "Total", "1000.00")
    ]
    assert reader.get(URL, {"fiscal_year": 2024}).json() == []


@pytest.mark.parametrize(
    ("query", "attr", "code"),
    [
        ("fiscal_year=2025&aera=Germany", "aera", "unknown_parameter"),
        ("fiscal_year=2025&fiscal_year=2024", "fiscal_year", "repeated_parameter"),
        ("area=Germany", "fiscal_year", "required"),
        ("fiscal_year=2025&area=Mars", "area", "invalid_choice"),
        ("fiscal_year=2025&from=2024-13-01", "from", "invalid"),
        ("fiscal_year=2025&from=2024-12-02&to=2024-12-01", "to", "invalid"),
        ("fiscal_year=99999", "fiscal_year", "max_value"),
    ],
)
def test_bad_parameters_give_400_naming_them(reader, query, attr, code):
    """Each bad parameter is a 400 naming it."""
    response = reader.get(f"{URL}?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["attr"], e["code"]) for e in response.json()["errors"]] == [(attr, code)]


def test_permissions_are_the_forecasts(api_client):
    """Anonymous: 401; without one of the forecast's permissions: 403; with them: 200."""
    assert api_client.get(URL, {"fiscal_year": 2025}).status_code == HTTPStatus.UNAUTHORIZED
    _client(api_client, FORECAST_PERMS[:2])
    assert api_client.get(URL, {"fiscal_year": 2025}).status_code == HTTPStatus.FORBIDDEN
    _client(api_client, FORECAST_PERMS)
    assert api_client.get(URL, {"fiscal_year": 2025}).status_code == HTTPStatus.OK
