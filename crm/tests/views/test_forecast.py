"""GET /api/forecast and GET /api/data-quality: answers, parameters, permissions, query counts."""

import datetime
import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.choices import Area, Status
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FORECAST_PERMS = ["crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget"]
DATA_QUALITY_PERMS = ["crm.view_customer", *FORECAST_PERMS]


def day(y, m, d=1):
    return datetime.date(y, m, d)


def _login(api_client, permissions):
    user = UserFactory(permissions=permissions)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.fixture
def reader(api_client):
    return _login(api_client, DATA_QUALITY_PERMS)


@pytest.fixture
def france():
    """France only: two months of actuals, a target, two open deals."""
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2025, target=Decimal("1200000.00"))
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 10), revenue=Decimal("300000.00"))
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 11), revenue=Decimal("310000.25"))
    customer = CustomerFactory(area=Area.FRANCE)
    OpportunityFactory(
        customer=customer,
        status=Status.PROPOSAL,
        probability=50,
        est_monthly_revenue=Decimal("1500.50"),
        expected_close_date=day(2025, 1, 10),
    )
    OpportunityFactory(
        customer=customer,
        status=Status.NEGOTIATION,
        probability=None,
        est_monthly_revenue=Decimal("999.99"),
        expected_close_date=day(2025, 5, 20),
    )
    return customer


def _empty_row(area):
    return {
        "area": area,
        "target": None,
        "actuals_to_date": "0.00",
        "last_actual_month": None,
        "run_rate": "0.00",
        "remaining_months": 12,
        "run_rate_projection": "0.00",
        "weighted_pipeline": "0.00",
        "projected_total": "0.00",
        "gap_to_target": None,
        "attainment_pct": None,
        "projected_attainment_pct": None,
        "open_pipeline_count": 0,
        "open_pipeline_mrr": "0.00",
    }


def test_forecast_answers_every_area_and_the_total_as_strings(reader, france):
    """Money with 2 places, percentages with 1, areas in vocabulary order, then the total."""
    # when
    response = reader.get(reverse("api:forecast"), {"fiscal_year": 2025, "as_of": "2024-12-15"})

    # then
    assert response.status_code == HTTPStatus.OK
    # actuals 300000.00 + 310000.25 = 610000.25; run rate (Nov) 310000.25 x 7 = 2170001.75
    # weighted: 1500.50 x 50% x 5 (Feb..Jun) = 3751.25 + 999.99 x 75% (Negotiation default) x 1
    #   (Jun) = 749.9925 -> 4501.2425 -> 4501.24
    # projected 610000.25 + 2170001.75 + 4501.24 = 2784503.24; gap 1200000 - 2784503.24 (over)
    # attainment 610000.25 / 1200000 = 50.833 % -> 50.8; projected 232.04 % -> 232.0
    france_row = {
        "area": "France",
        "target": "1200000.00",
        "actuals_to_date": "610000.25",
        "last_actual_month": "2024-11-01",
        "run_rate": "310000.25",
        "remaining_months": 7,
        "run_rate_projection": "2170001.75",
        "weighted_pipeline": "4501.24",
        "projected_total": "2784503.24",
        "gap_to_target": "-1584503.24",
        "attainment_pct": "50.8",
        "projected_attainment_pct": "232.0",
        "open_pipeline_count": 2,
        "open_pipeline_mrr": "2500.49",
    }
    # The other areas have no target, so neither has the total.
    total = {**france_row, "area": "Total", "target": None, "gap_to_target": None}
    total.update(attainment_pct=None, projected_attainment_pct=None)
    assert response.json() == {
        "fiscal_year": 2025,
        "as_of": "2024-12-15",
        "areas": [france_row, *[_empty_row(a) for a in Area.values[1:]]],
        "total": total,
    }


def test_forecast_defaults_and_trailing_slash(reader, france, monkeypatch):
    """Without parameters: FY of the latest actuals, today clamped; "/api/forecast/" answers the same."""
    monkeypatch.setattr("crm.forecast.today", lambda: day(2026, 2, 1))

    without_slash = reader.get("/api/forecast")
    with_slash = reader.get("/api/forecast/")

    assert without_slash.status_code == with_slash.status_code == HTTPStatus.OK
    assert without_slash.json() == with_slash.json()
    assert (without_slash.json()["fiscal_year"], without_slash.json()["as_of"]) == (2025, "2025-06-30")


@pytest.mark.parametrize("url_name", ["api:forecast", "api:data-quality"])
@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"fiscal_year": "abc"}, "fiscal_year", "invalid"),
        ({"fiscal_year": "2025.5"}, "fiscal_year", "invalid"),
        ({"fiscal_year": "0"}, "fiscal_year", "min_value"),
        ({"as_of": "2024-13-01"}, "as_of", "invalid"),
        # Fiscal years 1 and 10000 would have no valid first or last day.
        ({"as_of": "0001-01-01"}, "as_of", "invalid"),
        ({"as_of": "9999-12-31"}, "as_of", "invalid"),
        ({"fiscal_year": "2025", "as_of": "2025-07-01"}, "as_of", "invalid"),
    ],
)
def test_bad_parameters_give_400_naming_them(reader, url_name, params, attr, code):
    """A malformed or inconsistent parameter is a validation error on that parameter."""
    response = reader.get(reverse(url_name), params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(e["attr"], e["code"]) for e in body["errors"]] == [(attr, code)]


@pytest.mark.parametrize(
    ("url_name", "needed"), [("api:forecast", FORECAST_PERMS), ("api:data-quality", DATA_QUALITY_PERMS)]
)
def test_permissions(api_client, url_name, needed):
    """Anonymous 401; any one view permission missing 403; all of them 200."""
    url = reverse(url_name)
    assert api_client.get(url).status_code == HTTPStatus.UNAUTHORIZED
    for missing in needed:
        client = _login(api_client, [p for p in needed if p != missing])
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, missing
    assert _login(api_client, needed).get(url).status_code == HTTPStatus.OK


def test_forecast_query_count_is_fixed(reader, france, django_assert_num_queries):
    """The same number of queries for two deals and for fifty-two."""
    url = reverse("api:forecast")
    params = {"fiscal_year": 2025, "as_of": "2024-12-15"}
    reader.get(reverse("api:me"))  # the caller's access, cached from now on (crm/scopes.py)
    # targets, actuals, pipeline (the token from the access cache)
    with django_assert_num_queries(3):
        few = reader.get(url, params).json()
    for n in range(50):
        OpportunityFactory(
            customer=CustomerFactory(area=Area.values[n % 5]),
            status=Status.PROSPECTING,
            expected_close_date=day(2025, 1 + n % 6, 15),
        )

    with django_assert_num_queries(3):
        many = reader.get(url, params).json()

    assert many["total"]["open_pipeline_count"] == few["total"]["open_pipeline_count"] + 50


def test_data_quality_report_matches_the_command_output(reader, france, capsys):
    """The API answers the same report as `manage.py data_quality --json`, every rule listed."""
    CustomerFactory(cid=42, area="Austria", account_executive=None)

    response = reader.get(reverse("api:data-quality"), {"as_of": "2024-12-15"})

    assert response.status_code == HTTPStatus.OK
    with pytest.raises(CommandError):
        call_command("data_quality", "--json", "--as-of", "2024-12-15")
    assert response.json() == json.loads(capsys.readouterr().out)
    body = response.json()
    assert (body["fiscal_year"], body["as_of"], body["errors"], body["warnings"]) == (
        2025,
        "2024-12-15",
        1,
        2,
    )
    fired = {r["id"]: r for r in body["rules"] if r["count"]}
    assert fired["customer.area_unknown"] == {
        "id": "customer.area_unknown",
        "entity": "customer",
        "level": "error",
        "description": "Customer area outside the five areas.",
        "count": 1,
        "examples": ["42"],
    }
    # Four of the five areas have no FY2025 target.
    assert fired["revenue.target_missing"]["examples"] == Area.values[1:]
    assert fired["customer.account_executive_missing"]["examples"] == ["42"]
