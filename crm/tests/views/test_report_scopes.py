"""Area scopes through the report endpoints: the forecast, the data-quality report, the snapshots
and the movement, each with callers granted France only, the UK (as editor), all areas, and nothing.

The data: customers in France, the UK and Germany, and two with legacy spellings of France
(``france``, ``France ``) that belong to no area; targets for France and the UK only, so a total
over France or the UK has a target and one over all areas has none. Each scoped answer is checked
against the ALL answer's rows for its areas, and the report cache is checked to keep each scope's
answer apart (the cache is on in this module).
"""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Area, Status
from crm.models import Change, Opportunity
from crm.movement import BUCKETS, MEASURES
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

READER_PERMS = [
    "crm.view_customer",
    "crm.view_opportunity",
    "crm.view_revenueactual",
    "crm.view_revenuetarget",
]
EDITOR_PERMS = [*READER_PERMS, "crm.add_opportunity", "crm.change_opportunity", "crm.delete_opportunity"]
PERIOD = {"fiscal_year": 2025, "as_of": "2024-12-15"}
FRANCE, UK, GERMANY, LEGACY_LOWER, LEGACY_PADDED = 1, 2, 3, 4, 5
CUSTOMER_AREAS = {
    FRANCE: "France",
    UK: "UK",
    GERMANY: "Germany",
    LEGACY_LOWER: "france",
    LEGACY_PADDED: "France ",
}
CALLERS = {
    # name: (permissions, areas granted)
    "fr_reader": (READER_PERMS, ["France"]),
    "uk_editor": (EDITOR_PERMS, ["UK"]),
    "all_reader": (READER_PERMS, ["all"]),
    "nobody": (EDITOR_PERMS, []),
}
AREAS_SEEN = {"fr_reader": ["France"], "uk_editor": ["UK"], "all_reader": Area.values, "nobody": []}


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.REPORT_CACHE_SECONDS = 60


def _client(name: str) -> APIClient:
    permissions, areas = CALLERS[name]
    user = UserFactory(username=name, permissions=permissions, areas=areas)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def callers() -> dict[str, APIClient]:
    return {name: _client(name) for name in CALLERS}


def day(y, m, d=1):
    return datetime.date(y, m, d)


@pytest.fixture
def data():
    """Customers of every kind, targets for France and the UK, actuals and deals in each area."""
    customers = {cid: CustomerFactory(cid=cid, area=area) for cid, area in CUSTOMER_AREAS.items()}
    RevenueTargetFactory(area="France", fiscal_year=2025, target=Decimal("1000000.00"))
    RevenueTargetFactory(area="UK", fiscal_year=2025, target=Decimal("2000000.00"))
    # Legacy spellings in months and years no exact row has (MySQL's unique keys fold them).
    RevenueTargetFactory(area="France ", fiscal_year=2024, target=Decimal("5.00"))
    RevenueActualFactory(area="France", month=day(2024, 10), revenue=Decimal("300000.00"))
    RevenueActualFactory(area="France", month=day(2024, 11), revenue=Decimal("310000.00"))
    RevenueActualFactory(area="UK", month=day(2024, 9), revenue=Decimal("400000.00"))
    RevenueActualFactory(area="UK", month=day(2024, 11), revenue=Decimal("420000.00"))
    RevenueActualFactory(area="Germany", month=day(2024, 11), revenue=Decimal("500000.00"))
    RevenueActualFactory(area="france", month=day(2024, 7), revenue=Decimal("9.00"))
    deals = {}
    for cid, revenue in (
        (FRANCE, "1000.00"),
        (UK, "2000.00"),
        (GERMANY, "3000.00"),
        (LEGACY_LOWER, "4000.00"),
    ):
        deals[cid] = OpportunityFactory(
            customer=customers[cid],
            status=Status.PROPOSAL,
            probability=50,
            est_monthly_revenue=Decimal(revenue),
            expected_close_date=day(2025, 3, 15),
        )
    return customers, deals


def _get(client, name, params=None):
    response = client.get(reverse(name), params or {})
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


# --- The forecast ------------------------------------------------------------------------------


def test_forecast_rows_are_the_granted_areas_rows_of_the_all_answer(callers, data):
    """Each caller gets exactly its areas' rows, each equal to the ALL answer's row for that area."""
    everything = _get(callers["all_reader"], "api:forecast", PERIOD)
    all_rows = {row["area"]: row for row in everything["areas"]}
    assert list(all_rows) == Area.values

    for name in ("fr_reader", "uk_editor", "nobody"):
        answer = _get(callers[name], "api:forecast", PERIOD)
        assert (answer["fiscal_year"], answer["as_of"]) == (2025, "2024-12-15")
        assert answer["areas"] == [all_rows[area] for area in AREAS_SEEN[name]], name


def test_forecast_total_is_over_the_granted_areas_with_its_target_only_when_each_has_one(callers, data):
    """France only and UK only: the total is that area's row (its target included); over all
    areas, where Germany and others have none, the total has no target; nobody: an empty total."""
    everything = _get(callers["all_reader"], "api:forecast", PERIOD)
    all_rows = {row["area"]: row for row in everything["areas"]}
    france = _get(callers["fr_reader"], "api:forecast", PERIOD)
    uk = _get(callers["uk_editor"], "api:forecast", PERIOD)
    nobody = _get(callers["nobody"], "api:forecast", PERIOD)

    assert france["total"] == {**all_rows["France"], "area": "Total"}
    assert france["total"]["target"] == "1000000.00"
    assert france["total"]["attainment_pct"] == "61.0"
    assert uk["total"] == {**all_rows["UK"], "area": "Total"}
    assert uk["total"]["target"] == "2000000.00"
    assert everything["total"]["target"] is None
    assert everything["total"]["actuals_to_date"] == "1930000.00"  # not the legacy "france" 9.00
    assert nobody["total"] == {
        "area": "Total",
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


def test_forecast_over_france_and_germany_has_no_total_target(data):
    """Germany has no target, so a total over France and Germany has none either."""
    user = UserFactory(permissions=READER_PERMS, areas=["France", "Germany"])
    client = APIClient()
    client.force_authenticate(user)
    answer = _get(client, "api:forecast", PERIOD)
    assert [row["area"] for row in answer["areas"]] == ["France", "Germany"]
    assert answer["total"]["target"] is None
    assert answer["total"]["actuals_to_date"] == "1110000.00"
    assert answer["total"]["open_pipeline_mrr"] == "4000.00"


def test_forecast_of_a_caller_without_areas_reads_no_crm_table(callers, data, django_assert_num_queries):
    """No area: nothing to read (the period's default needs the actuals, so it is given here)."""
    client = callers["nobody"]
    client.get(reverse("api:me"))  # the caller's access is cached from here on
    with django_assert_num_queries(0):  # the token and the access come from the cache
        response = client.get(reverse("api:forecast"), PERIOD)
    assert response.json()["areas"] == []


@pytest.mark.parametrize("url_name", ["api:forecast", "api:data-quality", "api:forecast-movement"])
def test_a_scoped_report_costs_the_queries_of_the_all_one(settings, callers, moves, url_name):
    """France only asks the database as often as ALL does: the scope sits inside the same queries."""
    settings.REPORT_CACHE_SECONDS = 0
    params = MOVEMENT if url_name == "api:forecast-movement" else PERIOD
    counts = {}
    for name in ("all_reader", "fr_reader"):
        callers[name].get(reverse("api:me"))  # the caller's access, cached from here on
        with CaptureQueriesContext(connection) as queries:
            assert callers[name].get(reverse(url_name), params).status_code == HTTPStatus.OK
        counts[name] = len(queries)
    assert counts["fr_reader"] == counts["all_reader"]


@pytest.mark.parametrize("url_name", ["api:forecast", "api:data-quality"])
def test_the_report_cache_keeps_each_scope_its_own_answer(callers, data, url_name):
    """ALL, then France, then ALL again, then UK: each is answered for its own areas, though the
    first answer is in the cache when the others ask."""
    first_all = _get(callers["all_reader"], url_name, PERIOD)
    france = _get(callers["fr_reader"], url_name, PERIOD)
    again_all = _get(callers["all_reader"], url_name, PERIOD)
    uk = _get(callers["uk_editor"], url_name, PERIOD)
    nobody = _get(callers["nobody"], url_name, PERIOD)

    assert again_all == first_all
    assert france != first_all
    assert uk not in (first_all, france)
    if url_name == "api:forecast":
        assert [row["area"] for row in france["areas"]] == ["France"]
        assert [row["area"] for row in uk["areas"]] == ["UK"]
        assert nobody["areas"] == []
    else:
        assert _rule(france, "revenue.actuals_area_unknown")["count"] == 0
        assert _rule(first_all, "revenue.actuals_area_unknown")["count"] == 1
        assert all(rule["count"] == 0 for rule in nobody["rules"])


def test_a_france_answer_in_the_cache_is_not_served_to_all(callers, data):
    """The reverse order: France first, then ALL gets every area."""
    france = _get(callers["fr_reader"], "api:forecast", PERIOD)
    everything = _get(callers["all_reader"], "api:forecast", PERIOD)
    assert [row["area"] for row in france["areas"]] == ["France"]
    assert [row["area"] for row in everything["areas"]] == Area.values


# --- The data-quality report -------------------------------------------------------------------


def _rule(report: dict, rule_id: str) -> dict:
    return next(rule for rule in report["rules"] if rule["id"] == rule_id)


def _counts(report: dict) -> dict[str, tuple[int, list[str]]]:
    return {rule["id"]: (rule["count"], rule["examples"]) for rule in report["rules"] if rule["count"]}


@pytest.fixture
def quality(data):
    """Rules broken in France, the UK, Germany and by the legacy rows, each by rows of one area."""
    customers, deals = data
    for cid, customer in customers.items():
        customer.account_executive = "Someone"
        customer.technical_specialist = "Someone"
        customer.customer_name = f"Customer {cid}"
        customer.save()
    Opportunity.objects.filter(oid=deals[FRANCE].oid).update(est_monthly_revenue=Decimal("0.00"))
    Opportunity.objects.filter(oid=deals[UK].oid).update(expected_close_date=day(2024, 11, 1))
    Opportunity.objects.filter(oid=deals[GERMANY].oid).update(probability=120)
    Opportunity.objects.filter(oid=deals[LEGACY_LOWER].oid).update(status="closed won")
    customers[UK].account_executive = ""
    customers[UK].save()
    customers[GERMANY].technical_specialist = ""
    customers[GERMANY].save()
    # The same name in France and the UK, and twice in France.
    CustomerFactory(
        cid=6, area="France", customer_name="Same", account_executive="A", technical_specialist="T"
    )
    CustomerFactory(cid=7, area="UK", customer_name="same", account_executive="A", technical_specialist="T")
    CustomerFactory(
        cid=8, area="France", customer_name="SAME", account_executive="A", technical_specialist="T"
    )
    # A deal of France and one of the UK each written by another tool after their recorded change.
    after = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    for cid in (FRANCE, UK):
        oid = deals[cid].oid
        Change.objects.create(
            entity=Change.Entity.OPPORTUNITY,
            key=oid,
            cid=cid,
            area=CUSTOMER_AREAS[cid],
            action=Change.Action.CREATED,
            changes={},
            at=datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC),
        )
        Opportunity.objects.filter(oid=oid).update(updated_at=after)
    return deals


def test_data_quality_rules_count_only_the_granted_areas_rows(callers, quality):
    """Customer rules by the customer's area, opportunity rules by their customer's area, revenue
    rules by area; the legacy spellings are seen by ALL only."""
    deals = quality
    reports = {name: _get(client, "api:data-quality", PERIOD) for name, client in callers.items()}

    assert _counts(reports["fr_reader"]) == {
        "customer.name_duplicate": (2, ["6", "8"]),
        "opportunity.est_monthly_revenue_not_positive": (1, [deals[FRANCE].oid]),
        "opportunity.changed_outside_history": (1, [deals[FRANCE].oid]),
    }
    assert _counts(reports["uk_editor"]) == {
        "customer.account_executive_missing": (1, [str(UK)]),
        "opportunity.overdue": (1, [deals[UK].oid]),
        "opportunity.changed_outside_history": (1, [deals[UK].oid]),
        "revenue.actuals_month_missing": (1, ["UK 2024-10"]),
    }
    assert _counts(reports["nobody"]) == {}
    assert (reports["nobody"]["errors"], reports["nobody"]["warnings"]) == (0, 0)
    assert _counts(reports["all_reader"]) == {
        "customer.area_unknown": (2, [str(LEGACY_LOWER), str(LEGACY_PADDED)]),
        "customer.account_executive_missing": (1, [str(UK)]),
        "customer.technical_specialist_missing": (1, [str(GERMANY)]),
        "customer.name_duplicate": (3, ["6", "7", "8"]),
        "opportunity.status_unknown": (1, [deals[LEGACY_LOWER].oid]),
        "opportunity.probability_inconsistent": (1, [deals[GERMANY].oid]),
        "opportunity.est_monthly_revenue_not_positive": (1, [deals[FRANCE].oid]),
        "opportunity.overdue": (1, [deals[UK].oid]),
        # In the list's order: by close date (the UK deal's is in November).
        "opportunity.changed_outside_history": (2, [deals[UK].oid, deals[FRANCE].oid]),
        "revenue.target_missing": (3, ["Germany", "Switzerland", "Netherlands"]),
        "revenue.actuals_month_missing": (1, ["UK 2024-10"]),
        "revenue.actuals_area_unknown": (1, ["france 2024-07"]),
        "revenue.targets_area_unknown": (1, ["France  FY2024"]),
    }
    assert (reports["fr_reader"]["errors"], reports["fr_reader"]["warnings"]) == (1, 2)


def test_data_quality_area_rules_follow_the_scope(callers, data):
    """A target missing and a month missing in the UK are the UK caller's, not France's."""
    RevenueActualFactory(area="France", month=day(2024, 8), revenue=Decimal("1.00"))  # September missing
    reports = {name: _get(client, "api:data-quality", PERIOD) for name, client in callers.items()}
    assert _rule(reports["fr_reader"], "revenue.actuals_month_missing")["examples"] == ["France 2024-09"]
    assert _rule(reports["uk_editor"], "revenue.actuals_month_missing")["examples"] == ["UK 2024-10"]
    assert _rule(reports["fr_reader"], "revenue.target_missing")["count"] == 0
    assert _rule(reports["nobody"], "revenue.target_missing")["count"] == 0


# --- Snapshots ---------------------------------------------------------------------------------


@pytest.fixture
def snapshots(data, capsys):
    """Two days stored by the command, which always stores every area and the total."""
    for as_of in ("2024-12-01", "2024-12-02"):
        call_command("snapshot_forecast", "--fiscal-year", "2025", "--as-of", as_of)
    assert capsys.readouterr().out.count(": 6 rows.") == 2


def test_snapshots_are_the_granted_areas_rows_and_their_total(callers, snapshots):
    """France only: per day the stored France row and a total over it (France's target included);
    ALL: the six stored rows per day as before; nobody: no row."""
    stored = _get(callers["all_reader"], "api:forecast-snapshots", {"fiscal_year": 2025})
    assert [(row["as_of"], row["area"]) for row in stored] == [
        (as_of, area) for as_of in ("2024-12-01", "2024-12-02") for area in [*Area.values, "Total"]
    ]
    stored_rows = {(row["as_of"], row["area"]): row for row in stored}
    assert stored_rows[("2024-12-01", "Total")]["target"] is None

    for name, area, target in (("fr_reader", "France", "1000000.00"), ("uk_editor", "UK", "2000000.00")):
        answer = _get(callers[name], "api:forecast-snapshots", {"fiscal_year": 2025})
        expected = []
        for as_of in ("2024-12-01", "2024-12-02"):
            row = stored_rows[(as_of, area)]
            expected += [row, {**row, "area": "Total"}]
        assert answer == expected, name
        assert answer[1]["target"] == target

    assert _get(callers["nobody"], "api:forecast-snapshots", {"fiscal_year": 2025}) == []


def test_snapshot_area_filter_within_the_scope(callers, snapshots):
    """area=Total gives the scope's totals; an area outside the scope gives nothing."""
    france = callers["fr_reader"]
    totals = _get(
        france, "api:forecast-snapshots", {"fiscal_year": 2025, "area": "Total", "to": "2024-12-01"}
    )
    france_row = _get(
        france, "api:forecast-snapshots", {"fiscal_year": 2025, "area": "France", "to": "2024-12-01"}
    )
    assert len(france_row) == 1
    assert totals == [{**france_row[0], "area": "Total"}]
    assert _get(france, "api:forecast-snapshots", {"fiscal_year": 2025, "area": "UK"}) == []
    assert _get(callers["nobody"], "api:forecast-snapshots", {"fiscal_year": 2025, "area": "Total"}) == []


def test_snapshot_command_stays_all_whoever_runs_the_other_reports(callers, data, capsys):
    """A France request first leaves its answer in the cache; the command still stores all six rows."""
    _get(callers["fr_reader"], "api:forecast", {"fiscal_year": 2025, "as_of": "2024-12-03"})
    call_command("snapshot_forecast", "--fiscal-year", "2025", "--as-of", "2024-12-03")
    assert capsys.readouterr().out.strip() == "Stored the forecast of FY2025 as of 2024-12-03: 6 rows."
    stored = _get(callers["all_reader"], "api:forecast-snapshots", {"fiscal_year": 2025})
    assert [row["area"] for row in stored] == [*Area.values, "Total"]


# --- Movement ----------------------------------------------------------------------------------

MOVEMENT = {"fiscal_year": 2025, "from": "2024-12-02", "to": "2024-12-13"}


@pytest.fixture
def moves(data):
    """Through the API, dated in the window: a new deal in France, a UK deal's revenue raised, a
    German deal won, and a French deal moved to the UK customer."""
    _customers, deals = data
    editor = UserFactory(permissions=EDITOR_PERMS)
    client = APIClient()
    client.force_authenticate(editor)
    last = [0]

    def dated(when, oid):
        at = datetime.datetime.combine(when, datetime.time(12), tzinfo=datetime.UTC)
        Change.objects.filter(id__gt=last[0]).update(at=at)
        Opportunity.objects.filter(oid=oid).update(updated_at=at)
        last[0] = Change.objects.order_by("-id").values_list("id", flat=True).first()

    def patch(when, oid, **changes):
        response = client.patch(
            reverse("api:opportunity-detail", kwargs={"oid": oid}), changes, format="json"
        )
        assert response.status_code == HTTPStatus.OK, response.json()
        dated(when, oid)

    def create(when, cid, name, revenue):
        body = {
            "cid": cid,
            "opportunity_name": name,
            "product": "Payroll",
            "status": "Proposal",
            "probability": 50,
            "est_monthly_revenue": revenue,
            "expected_close_date": "2025-04-15",
        }
        response = client.post(reverse("api:opportunity-list"), body, format="json")
        assert response.status_code == HTTPStatus.CREATED, response.json()
        dated(when, response.json()["oid"])
        return response.json()["oid"]

    # The history starts before the window: a France deal created on Nov 20, moved later.
    moving = create(day(2024, 11, 20), FRANCE, "Moving", "700.00")
    new = create(day(2024, 12, 3), FRANCE, "New", "100.00")
    patch(day(2024, 12, 4), deals[UK].oid, est_monthly_revenue="2500.00")
    patch(day(2024, 12, 5), deals[GERMANY].oid, status="Closed Won", probability=100)
    patch(day(2024, 12, 6), moving, cid=UK)
    return {"moving": moving, "new": new}


def _identity_holds(row: dict) -> bool:
    return all(
        Decimal(str(row["start"][m])) + sum(Decimal(str(row["buckets"][b][m])) for b in BUCKETS)
        == Decimal(str(row["end"][m]))
        for m in MEASURES
    )


def test_movement_rows_are_the_granted_areas_rows_of_the_all_answer(callers, moves):
    """Each caller's area rows are the ALL answer's; the total is their sum; the identity
    start + buckets = end holds in every row and total; nobody gets no row and a zero total."""
    everything = _get(callers["all_reader"], "api:forecast-movement", MOVEMENT)
    all_rows = {row["area"]: row for row in everything["areas"]}
    assert list(all_rows) == Area.values
    # The move: France sees the deal leave, the UK sees it arrive.
    assert all_rows["France"]["buckets"]["decreased"]["open_mrr"] == "-700.00"
    assert all_rows["UK"]["buckets"]["increased"]["open_mrr"] == "1200.00"  # 500 raised + 700 arrived

    for name, area in (("fr_reader", "France"), ("uk_editor", "UK")):
        answer = _get(callers[name], "api:forecast-movement", MOVEMENT)
        assert answer["areas"] == [all_rows[area]], name
        assert answer["total"] == {**all_rows[area], "area": "Total"}, name
        assert _identity_holds(answer["total"])
    assert all(_identity_holds(row) for row in [*everything["areas"], everything["total"]])

    nobody = _get(callers["nobody"], "api:forecast-movement", MOVEMENT)
    zero = {"open_count": 0, "open_mrr": "0.00", "weighted_pipeline": "0.00"}
    assert nobody["areas"] == []
    assert nobody["total"] == {
        "area": "Total",
        "start": zero,
        "buckets": dict.fromkeys(BUCKETS, zero),
        "end": zero,
    }


def test_movement_detail_lists_only_granted_deals_and_withholds_the_other_end(callers, moves, data):
    """detail=true: France lists the new deal and the one that left for the UK, its UK end null;
    the UK lists the one that arrived with its France end null and its own raised deal; ALL shows
    both ends."""
    _customers, deals = data
    params = {**MOVEMENT, "detail": "true"}
    everything = _get(callers["all_reader"], "api:forecast-movement", params)
    france = _get(callers["fr_reader"], "api:forecast-movement", params)["areas"]
    uk = _get(callers["uk_editor"], "api:forecast-movement", params)["areas"]
    all_rows = {row["area"]: row for row in everything["areas"]}

    def listed(row):
        return {b: [deal["oid"] for deal in row["deals"][b]] for b in BUCKETS if row["deals"][b]}

    assert [row["area"] for row in france] == ["France"]
    assert listed(france[0]) == {"new": [moves["new"]], "decreased": [moves["moving"]]}
    assert listed(uk[0]) == {"increased": sorted([deals[UK].oid, moves["moving"]])}
    assert listed(all_rows["Germany"]) == {"won": [deals[GERMANY].oid]}

    left = france[0]["deals"]["decreased"][0]
    everywhere = all_rows["France"]["deals"]["decreased"][0]
    assert everywhere["at_to"]["area"] == "UK"
    assert left == {**everywhere, "area": "France", "at_to": None}
    arrived = next(deal for deal in uk[0]["deals"]["increased"] if deal["oid"] == moves["moving"])
    assert arrived == {**everywhere, "at_from": None}
    assert arrived["at_to"]["cid"] == UK


def test_movement_pipeline_cache_keeps_each_scope_its_own_answer(callers, moves):
    """ALL first leaves the current pipeline in the cache; France then gets France's, and ALL
    again its own."""
    first = _get(callers["all_reader"], "api:forecast-movement", MOVEMENT)
    france = _get(callers["fr_reader"], "api:forecast-movement", MOVEMENT)
    again = _get(callers["all_reader"], "api:forecast-movement", MOVEMENT)
    assert again == first
    assert france["areas"] == [first["areas"][0]]
