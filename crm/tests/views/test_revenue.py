"""GET /api/revenue/actuals and GET /api/revenue/targets: read-only lists with filters and opt-in paging."""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.choices import Area
from crm.models import RevenueActual
from crm.tests.factories import RevenueActualFactory, RevenueTargetFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTUALS = "api:revenue-actual-list"
TARGETS = "api:revenue-target-list"


def _login(api_client, permissions):
    user = UserFactory(permissions=permissions)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.fixture
def reader(api_client):
    return _login(api_client, ["crm.view_revenueactual", "crm.view_revenuetarget"])


@pytest.fixture
def actuals():
    """Rows inserted out of order, across two fiscal years, plus a legacy area."""
    rows = [
        (Area.UK, datetime.date(2024, 7, 1), "520000.00"),
        (Area.FRANCE, datetime.date(2024, 8, 1), "421000.50"),
        (Area.FRANCE, datetime.date(2024, 6, 1), "400000.00"),
        (Area.FRANCE, datetime.date(2025, 7, 1), "450000.00"),
        ("Austria", datetime.date(2024, 7, 1), "1000.00"),
    ]
    return [RevenueActualFactory(area=a, month=m, revenue=Decimal(r)) for a, m, r in rows]


def _actual(row):
    return {"id": row.id, "area": row.area, "month": row.month.isoformat(), "revenue": str(row.revenue)}


def test_actuals_list_is_a_plain_array_ordered_by_area_and_month(reader, actuals, django_assert_num_queries):
    """Every row, legacy area included, as {id, area, month, revenue}, ordered by area then month."""
    uk, fr_aug, fr_jun, fr_next, austria = actuals

    # token, the access entry (one query where permissions took two), the rows
    with django_assert_num_queries(3):
        response = reader.get(reverse(ACTUALS))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == [_actual(r) for r in (austria, fr_jun, fr_aug, fr_next, uk)]
    assert response.json()[2] == {
        "id": fr_aug.id,
        "area": "France",
        "month": "2024-08-01",
        "revenue": "421000.50",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"area": "France"}, [2, 1, 3]),
        ({"fiscal_year": "2025"}, [4, 1, 0]),
        ({"month_from": "2024-08-01"}, [1, 3]),
        ({"month_to": "2024-07-01"}, [4, 2, 0]),
        ({"area": "France", "fiscal_year": "2025", "month_from": "2024-07-01"}, [1]),
    ],
)
def test_actuals_filters(reader, actuals, params, expected):
    """area, fiscal_year (July to June) and the month range combine."""
    response = reader.get(reverse(ACTUALS), params)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == [_actual(actuals[i]) for i in expected]


def test_actuals_paging_is_opt_in(reader, actuals):
    """limit/offset give {count, next, previous, results}."""
    _uk, fr_aug, fr_jun, _fr_next, _austria = actuals

    body = reader.get(reverse(ACTUALS), {"limit": 2, "offset": 1}).json()

    assert body["count"] == 5
    assert body["results"] == [_actual(fr_jun), _actual(fr_aug)]
    assert body["next"].endswith("limit=2&offset=3")
    assert body["previous"].endswith("limit=2")


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"area": "Atlantis"}, "area"),
        ({"fiscal_year": "twenty"}, "fiscal_year"),
        ({"fiscal_year": "2025.5"}, "fiscal_year"),
        ({"month_from": "2024-13-01"}, "month_from"),
        ({"month_to": "yesterday"}, "month_to"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"aera": "France"}, "aera"),
    ],
)
def test_actuals_bad_parameters_give_400_naming_them(reader, actuals, params, attr):
    """A bad filter or paging value is never ignored."""
    before = list(RevenueActual.objects.values())

    response = reader.get(reverse(ACTUALS), params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["type"] == "validation_error"
    assert [e["attr"] for e in body["errors"]] == [attr]
    assert list(RevenueActual.objects.values()) == before


def test_targets_list_filters_and_trailing_slash(reader):
    """Targets ordered by area and fiscal year; area and fiscal_year filter; both URL forms answer."""
    uk = RevenueTargetFactory(area=Area.UK, fiscal_year=2025, target=Decimal("6740000.00"))
    fr26 = RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2026, target=Decimal("5980000.00"))
    fr25 = RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2025, target=Decimal("5440000.00"))

    def row(t):
        return {"id": t.id, "area": t.area, "fiscal_year": t.fiscal_year, "target": str(t.target)}

    assert reader.get("/api/revenue/targets").json() == [row(fr25), row(fr26), row(uk)]
    assert reader.get("/api/revenue/targets/").json() == [row(fr25), row(fr26), row(uk)]
    assert reader.get(reverse(TARGETS), {"fiscal_year": 2025}).json() == [row(fr25), row(uk)]
    assert reader.get(reverse(TARGETS), {"area": "France", "fiscal_year": 2026}).json() == [row(fr26)]
    bad = reader.get(reverse(TARGETS), {"fiscal_year": "FY2025"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert [e["attr"] for e in bad.json()["errors"]] == ["fiscal_year"]


@pytest.mark.parametrize(
    ("url_name", "perm"), [(ACTUALS, "view_revenueactual"), (TARGETS, "view_revenuetarget")]
)
def test_permissions(api_client, url_name, perm):
    """Anonymous 401, the other revenue permission only 403, its own view permission 200; no writes."""
    url = reverse(url_name)
    assert api_client.get(url).status_code == HTTPStatus.UNAUTHORIZED
    other = "view_revenuetarget" if perm == "view_revenueactual" else "view_revenueactual"
    assert _login(api_client, [f"crm.{other}"]).get(url).status_code == HTTPStatus.FORBIDDEN
    client = _login(api_client, [f"crm.{perm}"])
    assert client.get(url).status_code == HTTPStatus.OK
    assert client.post(url, {}, format="json").status_code == HTTPStatus.FORBIDDEN


def test_targets_unknown_parameter_gives_400_naming_it(reader):
    """A misspelt filter on targets is refused rather than ignored (which would list every row)."""
    response = reader.get(reverse(TARGETS), {"fiscal_yaer": "2025"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "unknown_parameter",
                "detail": "Unknown query parameter 'fiscal_yaer'.",
                "attr": "fiscal_yaer",
            }
        ],
    }
