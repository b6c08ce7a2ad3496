"""Area scopes through every entity endpoint and the reports: who sees which rows, and 404 exactly as
for a missing one.

Four callers: a reader granted France, an editor granted UK, a reader of all areas, and an
editor with no grant at all. The data holds a customer in France, the UK and Germany each, and
two with legacy spellings of France (``france``, ``France ``) that belong to no area: only
``all`` sees them (on MySQL the collation alone would match them to France).
"""

import datetime
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Area, fiscal_year_of
from crm.models import Customer, Opportunity
from crm.scopes import AreaScope
from crm.selectors import customer_list, opportunity_list
from crm.services import EDITORS_GROUP, READERS_GROUP, crm_groups_ensure
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMER_AREAS = {1: "France", 2: "UK", 3: "Germany", 4: "france", 5: "France "}
# oid -> (cid, monthly revenue)
DEALS = {
    "f1" * 16: (1, "100.00"),
    "f2" * 16: (1, "200.00"),
    "b1" * 16: (2, "300.00"),
    "d1" * 16: (3, "400.00"),
    "a1" * 16: (4, "500.00"),
    "a2" * 16: (5, "600.00"),
}
FR1, FR2, UK1, DE1, LEGACY1, LEGACY2 = DEALS
MISSING_CID = 999
MISSING_OID = "0" * 32

# Who sees what: the customers, hence their deals, revenue rows and history entries.
VISIBLE_CIDS = {
    "fr_reader": {1},
    "uk_editor": {2},
    "all_reader": {1, 2, 3, 4, 5},
    "nobody": set(),
}
VISIBLE_AREAS = {
    "fr_reader": {"France"},
    "uk_editor": {"UK"},
    "all_reader": {"France", "UK", "Germany", "france"},
    "nobody": set(),
}
CALLERS = list(VISIBLE_CIDS)
EDITORS = {"uk_editor", "nobody"}


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def world():
    """The data and one API client per caller (plus an editor of all areas who writes history)."""
    customers = {
        cid: CustomerFactory(cid=cid, area=area, customer_name=f"Customer {cid}")
        for cid, area in CUSTOMER_AREAS.items()
    }
    for oid, (cid, revenue) in DEALS.items():
        OpportunityFactory(oid=oid, customer=customers[cid], est_monthly_revenue=Decimal(revenue))
    for area, amount in [
        ("France", "1000.00"),
        ("UK", "2000.00"),
        ("Germany", "3000.00"),
        ("france", "4000.00"),
    ]:
        # The legacy row in another month and year: MySQL's unique keys compare by collation.
        legacy = area == "france"
        RevenueActualFactory(
            area=area, revenue=Decimal(amount), month=datetime.date(2024, 8 if legacy else 7, 1)
        )
        RevenueTargetFactory(area=area, target=Decimal(amount) * 12, fiscal_year=2026 if legacy else 2025)
    groups = crm_groups_ensure()
    users = {
        "fr_reader": (READERS_GROUP, ["France"]),
        "uk_editor": (EDITORS_GROUP, ["UK"]),
        "all_reader": (READERS_GROUP, None),
        "nobody": (EDITORS_GROUP, []),
        "writer": (EDITORS_GROUP, None),
    }
    clients = {}
    for name, (group, areas) in users.items():
        user = UserFactory(username=name, **({} if areas is None else {"areas": areas}))
        user.groups.add(groups[group])
        clients[name] = _client(user)
    # History for every deal (one update each), so history, stages and the feed have entries.
    for oid in DEALS:
        response = clients["writer"].patch(_detail(oid), {"probability": 42}, format="json")
        assert response.status_code == HTTPStatus.OK
    return clients


def _detail(oid):
    return reverse("api:opportunity-detail", kwargs={"oid": oid})


def _visible_oids(caller) -> set[str]:
    return {oid for oid, (cid, _) in DEALS.items() if cid in VISIBLE_CIDS[caller]}


def _results(body):
    return body["results"] if isinstance(body, dict) else body


# --- Reads --------------------------------------------------------------------------------------
@pytest.mark.parametrize("caller", CALLERS)
def test_customer_list_plain_paged_and_cursor(world, caller):
    """The roster holds exactly the caller's customers, unpaged, with limit (count) and by cursor."""
    client, expected = world[caller], sorted(VISIBLE_CIDS[caller])
    url = reverse("api:customer-list")
    assert [row["cid"] for row in client.get(url).json()] == expected
    paged = client.get(url, {"limit": 10}).json()
    assert (paged["count"], [row["cid"] for row in paged["results"]]) == (len(expected), expected)
    assert [row["cid"] for row in client.get(url, {"page_size": 10}).json()["results"]] == expected
    # A filter cannot widen the scope: France's legacy spellings stay out for a France reader.
    france = [row["cid"] for row in client.get(url, {"area": "France"}).json()]
    assert france == [cid for cid in expected if CUSTOMER_AREAS[cid] == "France"]


@pytest.mark.parametrize("caller", CALLERS)
def test_customer_detail_and_its_opportunities_404_as_a_missing_customer(world, caller):
    """A customer outside the scope answers 404 with the very body of a cid that does not exist."""
    client = world[caller]
    missing = client.get(reverse("api:customer-detail", kwargs={"cid": MISSING_CID}))
    missing_deals = client.get(reverse("api:customer-opportunities", kwargs={"cid": MISSING_CID}))
    assert missing.status_code == missing_deals.status_code == HTTPStatus.NOT_FOUND
    for cid in CUSTOMER_AREAS:
        detail = client.get(reverse("api:customer-detail", kwargs={"cid": cid}))
        deals = client.get(reverse("api:customer-opportunities", kwargs={"cid": cid}))
        if cid in VISIBLE_CIDS[caller]:
            assert detail.status_code == HTTPStatus.OK
            assert detail.json()["area"] == CUSTOMER_AREAS[cid]
            assert {row["oid"] for row in deals.json()} == {o for o, (c, _) in DEALS.items() if c == cid}
        else:
            assert (detail.status_code, detail.json()) == (HTTPStatus.NOT_FOUND, missing.json())
            assert (deals.status_code, deals.json()) == (HTTPStatus.NOT_FOUND, missing_deals.json())


@pytest.mark.parametrize("caller", CALLERS)
def test_opportunity_list_plain_paged_cursor_and_totals(world, caller):
    """Every form of the opportunity list holds the caller's deals only, and their revenue adds up."""
    client, expected = world[caller], _visible_oids(caller)
    url = reverse("api:opportunity-list")
    rows = client.get(url).json()
    assert {row["oid"] for row in rows} == expected
    total = sum((Decimal(row["est_monthly_revenue"]) for row in rows), Decimal("0"))
    assert total == sum((Decimal(DEALS[oid][1]) for oid in expected), Decimal("0"))
    paged = client.get(url, {"limit": 10, "offset": 0}).json()
    assert paged["count"] == len(expected)
    assert {row["oid"] for row in paged["results"]} == expected
    assert {row["oid"] for row in client.get(url, {"page_size": 10}).json()["results"]} == expected
    # Filters narrow within the scope, never beyond it.
    assert {row["oid"] for row in client.get(url, {"cid": 2}).json()} == expected & {UK1}
    assert {row["oid"] for row in client.get(url, {"area": "UK"}).json()} == expected & {UK1}


@pytest.mark.parametrize("caller", CALLERS)
def test_opportunity_detail_history_and_stages_404_as_a_missing_one(world, caller):
    """Detail, history and stages of a deal outside the scope answer exactly as an unknown oid."""
    client = world[caller]
    urls = {
        "detail": _detail,
        "history": lambda oid: reverse("api:opportunity-history", kwargs={"oid": oid}),
        "stages": lambda oid: reverse("api:opportunity-stages", kwargs={"oid": oid}),
    }
    for name, url in urls.items():
        missing = client.get(url(MISSING_OID))
        assert missing.status_code == HTTPStatus.NOT_FOUND, name
        for oid in DEALS:
            response = client.get(url(oid))
            if oid in _visible_oids(caller):
                assert response.status_code == HTTPStatus.OK, (name, oid)
            else:
                assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, missing.json())


@pytest.mark.parametrize("caller", CALLERS)
def test_revenue_rows_and_the_change_feed_are_the_callers_areas(world, caller):
    """Actuals, targets (rows and totals) and change-feed entries of the caller's areas only."""
    client, areas = world[caller], VISIBLE_AREAS[caller]
    actuals = client.get(reverse("api:revenue-actual-list")).json()
    targets = client.get(reverse("api:revenue-target-list")).json()
    assert {row["area"] for row in actuals} == areas
    assert {row["area"] for row in targets} == areas
    amounts = {"France": 1000, "UK": 2000, "Germany": 3000, "france": 4000}
    assert sum(Decimal(row["revenue"]) for row in actuals) == sum(amounts[a] for a in areas)
    assert sum(Decimal(row["target"]) for row in targets) == 12 * sum(amounts[a] for a in areas)
    feed = client.get(reverse("api:change-feed"), {"page_size": 100}).json()["results"]
    assert {entry["key"] for entry in feed} == _visible_oids(caller)


# --- Writes -------------------------------------------------------------------------------------
def _new_deal(cid) -> dict:
    return {
        "cid": cid,
        "opportunity_name": "Scoped deal",
        "product": "Payroll",
        "status": "Proposal",
        "est_monthly_revenue": "10.00",
        "expected_close_date": "2025-03-31",
    }


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("keyed", [False, True])
def test_create_for_a_customer_outside_the_scope_is_the_400_of_a_missing_customer(world, caller, keyed):
    """An editor creates for their own customers only; any other cid answers as a cid that does not
    exist (400 naming cid, same message); a reader is refused (403) whatever the cid."""
    client = world[caller]
    headers = {}

    def post(cid):
        if keyed:
            headers["HTTP_IDEMPOTENCY_KEY"] = f"{caller}-{cid}"
        return client.post(reverse("api:opportunity-list"), _new_deal(cid), format="json", **headers)

    before = Opportunity.objects.count()
    if caller not in EDITORS:
        assert {post(cid).status_code for cid in CUSTOMER_AREAS} == {HTTPStatus.FORBIDDEN}
        assert Opportunity.objects.count() == before
        return
    missing = post(MISSING_CID)
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert missing.json()["errors"][0]["attr"] == "cid"
    for cid in CUSTOMER_AREAS:
        response = post(cid)
        if cid in VISIBLE_CIDS[caller]:
            assert response.status_code == HTTPStatus.CREATED
            assert response.json()["cid"] == cid
        else:
            body = response.json()
            assert (response.status_code, body) == (
                HTTPStatus.BAD_REQUEST,
                {
                    **missing.json(),
                    "errors": [{**missing.json()["errors"][0], "detail": f"Customer {cid} does not exist."}],
                },
            )
    assert Opportunity.objects.count() == before + len(VISIBLE_CIDS[caller])


def test_a_keyed_retry_after_the_area_was_taken_away_is_the_400_of_a_missing_customer(world):
    """A retry with the same Idempotency-Key replays the first 201 only while the caller still has
    the customer's area: once it is taken away the retry is answered as a fresh request would be
    (400 naming cid), and when it is given back the stored 201 is replayed, nothing created twice."""
    client = world["uk_editor"]

    def post():
        return client.post(
            reverse("api:opportunity-list"), _new_deal(2), format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
        )

    first = post()
    assert first.status_code == HTTPStatus.CREATED
    before = Opportunity.objects.count()

    call_command("crm_access", user="uk_editor", role="editor", areas="France", stdout=io.StringIO())
    refused = post()
    assert (refused.status_code, refused.json()["errors"]) == (
        HTTPStatus.BAD_REQUEST,
        [{"code": "does_not_exist", "detail": "Customer 2 does not exist.", "attr": "cid"}],
    )

    call_command("crm_access", user="uk_editor", role="editor", areas="UK", stdout=io.StringIO())
    replayed = post()
    assert (replayed.status_code, replayed.json()) == (HTTPStatus.CREATED, first.json())
    assert replayed["Idempotent-Replayed"] == "true"
    assert Opportunity.objects.count() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_update_and_delete_outside_the_scope_are_404(world, caller):
    """PATCH, PUT and DELETE of a deal outside the scope answer as an unknown oid and change nothing;
    readers are refused (403)."""
    client = world[caller]
    stored = {o.oid: (o.probability, o.updated_at) for o in Opportunity.objects.all()}
    missing = client.patch(_detail(MISSING_OID), {"probability": 7}, format="json")
    for oid in DEALS:
        if caller not in EDITORS:
            assert client.patch(_detail(oid), {"probability": 7}, format="json").status_code == 403
            assert client.delete(_detail(oid)).status_code == HTTPStatus.FORBIDDEN
        elif oid not in _visible_oids(caller):
            for response in (
                client.patch(_detail(oid), {"probability": 7}, format="json"),
                client.put(_detail(oid), {**_new_deal(DEALS[oid][0])}, format="json"),
                client.delete(_detail(oid)),
            ):
                assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, missing.json())
    assert {o.oid: (o.probability, o.updated_at) for o in Opportunity.objects.all()} == stored
    if caller == "uk_editor":
        assert client.patch(_detail(UK1), {"probability": 7}, format="json").status_code == HTTPStatus.OK
        assert client.delete(_detail(UK1)).status_code == HTTPStatus.NO_CONTENT
        assert not Opportunity.objects.filter(oid=UK1).exists()


def test_an_update_cannot_move_a_deal_to_a_customer_outside_the_scope(world):
    """The UK editor moving their deal to the French customer hears what a missing cid would say."""
    client = world["uk_editor"]
    to_missing = client.patch(_detail(UK1), {"cid": MISSING_CID}, format="json")
    to_france = client.patch(_detail(UK1), {"cid": 1}, format="json")
    assert to_missing.status_code == to_france.status_code == HTTPStatus.BAD_REQUEST
    assert to_france.json()["errors"] == [
        {"code": "does_not_exist", "detail": "Customer 1 does not exist.", "attr": "cid"}
    ]
    assert to_missing.json()["errors"] == [
        {"code": "does_not_exist", "detail": f"Customer {MISSING_CID} does not exist.", "attr": "cid"}
    ]
    assert Opportunity.objects.get(oid=UK1).customer_id == 2


def test_me_says_each_callers_areas(world):
    """GET /api/me lists the areas behind every answer above."""
    areas = {name: world[name].get(reverse("api:me")).json()["areas"] for name in CALLERS}
    assert areas == {"fr_reader": ["France"], "uk_editor": ["UK"], "all_reader": "all", "nobody": []}


# --- Cost ---------------------------------------------------------------------------------------
def test_all_adds_nothing_to_the_sql():
    """With scope ALL the lists' SQL is exactly what it was before scopes (the benchmarks' queries)."""
    assert str(customer_list(scope=AreaScope.ALL).query) == str(Customer.objects.order_by("cid").query)
    assert str(opportunity_list(scope=AreaScope.ALL).query) == str(
        Opportunity.objects.select_related("customer").query
    )


def test_a_scoped_list_is_one_query_with_the_area_condition(world):
    """The France reader's list is still one query after auth: the condition sits in it."""
    client = world["fr_reader"]
    client.get(reverse("api:me"))  # the caller's access, cached from here on
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("api:opportunity-list"), {"limit": 10})
    # count, page (the token and its access from the cache)
    assert len(captured) == 2
    page_sql = captured.captured_queries[-1]["sql"]
    assert "France" in page_sql or "%s" in page_sql


# --- Reports (the forecast, data quality, snapshots, movement; crm/tests/views/test_report_scopes.py
# has each in depth) ---------------------------------------------------------------------------
REPORT_PERIOD = {"fiscal_year": 2025, "as_of": "2024-12-15"}
# The FY2025 targets of the world above: a total has one only when each of its areas has one.
TOTAL_TARGETS = {"fr_reader": "12000.00", "uk_editor": "24000.00", "all_reader": None, "nobody": None}


@pytest.mark.parametrize("caller", CALLERS)
def test_reports_are_the_callers_areas(world, caller, capsys):
    """The forecast, snapshots and movement have rows for the caller's areas only, each the ALL
    answer's row, and totals over them; the data-quality report counts the caller's rows only."""
    client, everyone = world[caller], world["all_reader"]
    areas = Area.values if caller == "all_reader" else [a for a in Area.values if a in VISIBLE_AREAS[caller]]

    forecast = client.get(reverse("api:forecast"), REPORT_PERIOD).json()
    all_rows = {
        row["area"]: row for row in everyone.get(reverse("api:forecast"), REPORT_PERIOD).json()["areas"]
    }
    assert forecast["areas"] == [all_rows[area] for area in areas]
    assert forecast["total"]["target"] == TOTAL_TARGETS[caller]
    assert Decimal(forecast["total"]["actuals_to_date"]) == sum(
        (Decimal(all_rows[area]["actuals_to_date"]) for area in areas), Decimal(0)
    )

    quality = {
        rule["id"]: rule["count"]
        for rule in client.get(reverse("api:data-quality"), REPORT_PERIOD).json()["rules"]
    }
    legacy = caller == "all_reader"
    assert (quality["customer.area_unknown"], quality["revenue.actuals_area_unknown"]) == (
        (2, 1) if legacy else (0, 0)
    )

    call_command("snapshot_forecast", "--fiscal-year", "2025", "--as-of", "2024-12-15")
    capsys.readouterr()
    snapshots = client.get(reverse("api:forecast-snapshots"), {"fiscal_year": 2025}).json()
    assert [row["area"] for row in snapshots] == ([*areas, "Total"] if areas else [])

    today = datetime.date.today()
    window = {"fiscal_year": fiscal_year_of(today), "from": today.isoformat(), "to": today.isoformat()}
    movement = client.get(reverse("api:forecast-movement"), window).json()
    all_movement = {
        row["area"]: row for row in everyone.get(reverse("api:forecast-movement"), window).json()["areas"]
    }
    assert movement["areas"] == [all_movement[area] for area in areas]
