"""page_size/cursor pages on /api/opportunities, /api/customers/{cid}/opportunities and /api/customers."""

import datetime
from http import HTTPStatus
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm import selectors, sql
from crm.models import Customer, Opportunity
from crm.pagination import MAX_OFFSET
from crm.sql import PageSQL
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

OPPORTUNITIES = reverse("api:opportunity-list")
CUSTOMERS = reverse("api:customer-list")


@pytest.fixture
def reader() -> APIClient:
    user = UserFactory(permissions=["crm.view_opportunity", "crm.view_customer"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _day(n: int) -> datetime.date:
    return datetime.date(2025, 1, 1) + datetime.timedelta(days=n)


@pytest.fixture
def pipeline() -> list[Opportunity]:
    """23 opportunities over 2 customers, several sharing a close date (the oid breaks ties)."""
    france = CustomerFactory(cid=1, area="France", customer_name="Garonne")
    uk = CustomerFactory(cid=2, area="UK", customer_name="Thames")
    return [
        OpportunityFactory(
            customer=france if n % 3 else uk, expected_close_date=_day(n // 3), status="Proposal"
        )
        for n in range(23)
    ]


def _default_order(rows) -> list[str]:
    return [o.oid for o in sorted(rows, key=lambda o: (o.expected_close_date, o.oid))]


def _walk(client, url, params, *, between=None) -> tuple[list[dict], int]:
    """Follow next to the end; ``between(page_number)`` runs after each page. Returns rows and pages."""
    rows, pages = [], 0
    response = client.get(url, params)
    while True:
        assert response.status_code == HTTPStatus.OK, response.json()
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        rows += body["results"]
        pages += 1
        if between:
            between(pages)
        if body["next"] is None:
            return rows, pages
        assert pages < 200, "the walk does not end"
        response = client.get(body["next"])


def test_following_next_returns_every_opportunity_once_in_order(reader, pipeline):
    """page_size=5 over 23 rows: 5 pages, default order, the first page without a previous link."""
    first = reader.get(OPPORTUNITIES, {"page_size": 5}).json()
    assert first["previous"] is None
    assert parse_qs(urlsplit(first["next"]).query)["page_size"] == ["5"]
    rows, pages = _walk(reader, OPPORTUNITIES, {"page_size": 5})
    assert pages == 5
    assert [row["oid"] for row in rows] == _default_order(pipeline)
    # The same representation as the plain list.
    assert rows == reader.get(OPPORTUNITIES).json()


def test_previous_links_walk_back_through_the_same_pages(reader, pipeline):
    """From the last page, previous gives the pages before it, each as it was going forward."""
    forward = []
    body = reader.get(OPPORTUNITIES, {"page_size": 4}).json()
    forward.append(body["results"])
    while body["next"]:
        body = reader.get(body["next"]).json()
        forward.append(body["results"])
    backward = [body["results"]]
    while body["previous"]:
        body = reader.get(body["previous"]).json()
        backward.append(body["results"])
    assert backward[::-1] == forward


def test_a_walk_sees_every_row_that_existed_throughout_exactly_once_while_rows_change(reader, pipeline):
    """Rows inserted before and after the position, deleted and updated between pages: no row of
    the original set that stays is missed or repeated, and nothing is seen twice."""
    original = {o.oid for o in pipeline}
    ordered = _default_order(pipeline)
    deleted, inserted = set(), []
    customer = Customer.objects.get(cid=1)

    def change(page: int) -> None:
        # given: rows the walk has passed and rows it has yet to reach change meanwhile
        early = OpportunityFactory(customer=customer, expected_close_date=_day(-1))
        late = OpportunityFactory(customer=customer, expected_close_date=_day(100 + page))
        inserted.extend([early.oid, late.oid])
        for oid in (ordered[page], ordered[-page]):
            if oid not in deleted:
                Opportunity.objects.filter(oid=oid).delete()
                deleted.add(oid)
        Opportunity.objects.filter(oid=ordered[page + 5]).update(
            opportunity_name=f"Renamed {page}", status="Negotiation"
        )

    rows, _ = _walk(reader, OPPORTUNITIES, {"page_size": 4}, between=change)

    seen = [row["oid"] for row in rows]
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert original - deleted <= set(seen)
    assert not (set(seen) - original - set(inserted))


def test_ordering_by_oid_survives_close_date_changes(reader, pipeline):
    """ordering=oid: moving close dates during the walk changes nothing about which rows it sees."""
    oids = sorted(o.oid for o in pipeline)

    def move(page: int) -> None:
        Opportunity.objects.filter(oid__in=oids[::3]).update(expected_close_date=_day(400 - page))

    rows, _ = _walk(reader, OPPORTUNITIES, {"page_size": 6, "ordering": "oid"}, between=move)
    assert [row["oid"] for row in rows] == oids


def test_descending_order_walks_from_the_end(reader, pipeline):
    """ordering=-expected_close_date,-oid: the same rows, last first."""
    rows, _ = _walk(reader, OPPORTUNITIES, {"page_size": 10, "ordering": "-expected_close_date,-oid"})
    assert [row["oid"] for row in rows] == _default_order(pipeline)[::-1]


def test_filters_combine_with_cursors(reader, pipeline):
    """area=UK and a close-date range: only matching rows, every one, in order."""
    params = {"page_size": 2, "area": "UK", "expected_close_date_from": _day(2).isoformat()}
    rows, _ = _walk(reader, OPPORTUNITIES, params)
    expected = [o for o in pipeline if o.customer_id == 2 and o.expected_close_date >= _day(2)]
    assert [row["oid"] for row in rows] == _default_order(expected)
    assert {row["area"] for row in rows} == {"UK"}


def test_a_customers_opportunities_page_with_cursors(reader, pipeline):
    """/api/customers/1/opportunities?page_size=3 walks that customer's rows only."""
    url = reverse("api:customer-opportunities", kwargs={"cid": 1})
    rows, _ = _walk(reader, url, {"page_size": 3})
    assert [row["oid"] for row in rows] == _default_order([o for o in pipeline if o.customer_id == 1])


def test_the_customer_roster_pages_by_cid(reader):
    """/api/customers?page_size=2 walks every customer by cid; ordering=-cid walks back."""
    for cid in (5, 3, 9, 1, 7):
        CustomerFactory(cid=cid)
    rows, pages = _walk(reader, CUSTOMERS, {"page_size": 2})
    assert ([row["cid"] for row in rows], pages) == ([1, 3, 5, 7, 9], 3)
    assert rows == reader.get(CUSTOMERS).json()
    rows, _ = _walk(reader, CUSTOMERS, {"page_size": 2, "ordering": "-cid"})
    assert [row["cid"] for row in rows] == [9, 7, 5, 3, 1]


def test_a_page_takes_a_fixed_number_of_queries(reader, pipeline, django_assert_num_queries):
    """One query, the page with its customers, whatever the depth (the token from the access cache)."""
    second = reader.get(OPPORTUNITIES, {"page_size": 5}).json()["next"]
    with django_assert_num_queries(1):
        assert reader.get(second).status_code == HTTPStatus.OK


def _error(response) -> list[tuple[str, str]]:
    assert response.status_code == HTTPStatus.BAD_REQUEST
    return [(e["attr"], e["code"]) for e in response.json()["errors"]]


def test_an_altered_cursor_is_a_400_naming_cursor(reader, pipeline):
    """One character changed in the cursor: 400 naming cursor, not a wrong page."""
    cursor = parse_qs(urlsplit(reader.get(OPPORTUNITIES, {"page_size": 5}).json()["next"]).query)["cursor"][0]
    altered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    assert _error(reader.get(OPPORTUNITIES, {"page_size": 5, "cursor": altered})) == [("cursor", "invalid")]
    assert _error(reader.get(OPPORTUNITIES, {"page_size": 5, "cursor": "garbage"})) == [("cursor", "invalid")]


def test_a_cursor_from_another_query_is_a_400_naming_cursor(reader, pipeline):
    """A cursor used with other filters, another ordering or on another list is refused."""
    link = reader.get(OPPORTUNITIES, {"page_size": 5, "status": "Proposal"}).json()["next"]
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]
    for url, params in [
        (OPPORTUNITIES, {"status": "Negotiation"}),
        (OPPORTUNITIES, {}),
        (OPPORTUNITIES, {"status": "Proposal", "ordering": "oid"}),
        (reverse("api:customer-opportunities", kwargs={"cid": 1}), {"status": "Proposal"}),
        (CUSTOMERS, {}),
    ]:
        response = reader.get(url, {**params, "page_size": 5, "cursor": cursor})
        assert _error(response) == [("cursor", "invalid")], url
    # The same query with another page size is the same walk.
    assert (
        reader.get(OPPORTUNITIES, {"page_size": 3, "status": "Proposal", "cursor": cursor}).status_code == 200
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page_size": "0"}, [("page_size", "min_value")]),
        ({"page_size": "1001"}, [("page_size", "max_value")]),
        ({"page_size": ""}, [("page_size", "required")]),
        ({"page_size": "5", "limit": "5"}, [("page_size", "invalid")]),
        ({"cursor": "x", "offset": "5"}, [("cursor", "invalid")]),
        ({"page_size": "5", "ordering": "product"}, [("ordering", "invalid")]),
        ({"page_size": "5", "ordering": "-expected_close_date"}, [("ordering", "invalid")]),
        ({"page_size": "5", "ordering": "area"}, [("ordering", "invalid")]),
        ({"offset": str(MAX_OFFSET + 1)}, [("offset", "max_value")]),
    ],
)
def test_bad_paging_parameters_are_a_400_naming_them(reader, pipeline, params, expected):
    """Out of range, mixed paging styles, an order no index delivers, an offset too deep."""
    assert _error(reader.get(OPPORTUNITIES, params)) == expected


def test_an_offset_too_deep_points_to_cursor(reader, pipeline):
    """The 400 for a deep offset says how to go deeper."""
    response = reader.get(OPPORTUNITIES, {"limit": 5, "offset": MAX_OFFSET + 1})
    assert "cursor" in response.json()["errors"][0]["detail"]
    assert reader.get(OPPORTUNITIES, {"limit": 5, "offset": MAX_OFFSET}).json()["results"] == []


@pytest.mark.mysql
def test_an_area_page_keeps_opportunities_first_on_mysql(reader, pipeline, django_assert_num_queries):
    """The area filter's page query reads opportunities in index order (STRAIGHT_JOIN), customers by key."""
    # token, the access entry (first request), the page with its customers
    with django_assert_num_queries(3) as captured:
        body = reader.get(OPPORTUNITIES, {"page_size": 3, "area": "France"}).json()
    assert [row["oid"] for row in body["results"]] == _default_order(
        [o for o in pipeline if o.customer_id == 1]
    )[:3]
    page_sql = next(q["sql"] for q in captured.captured_queries if "crm_opportunities" in q["sql"])
    assert page_sql.startswith("SELECT STRAIGHT_JOIN")


def _page_index(client, url, params) -> tuple[list[str], str | None]:
    """The page's oids and the index MySQL reads the opportunities through (EXPLAIN of its SQL)
    when the statement names it, else None: at this size the optimizer picks the cid index unasked,
    at 1M rows it walks the close-date index instead (the benchmark's cid=1 page: 1.2 s unnamed)."""
    with CaptureQueriesContext(connection) as captured:
        body = client.get(url, params).json()
    page_sql = next(q["sql"] for q in captured.captured_queries if "FROM `crm_opportunities`" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {page_sql}")
        columns = [column[0] for column in cursor.description]
        plan = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    (opportunities,) = [step for step in plan if step["table"] == "crm_opportunities"]
    named = f"FORCE INDEX (`{opportunities['key']}`)" in page_sql
    return [row["oid"] for row in body["results"]], opportunities["key"] if named else None


@pytest.mark.mysql
def test_one_customers_page_reads_that_customers_rows_by_the_cid_index(reader, pipeline):
    """With ?cid= or under /api/customers/{cid}/opportunities, a page reads the customer's deals
    through the cid index (a cost of the customer's size), never by walking the close-date index
    through other customers' deals; other filters keep the close-date order's index."""
    expected = _default_order([o for o in pipeline if o.customer_id == 1])[:3]
    by_filter = _page_index(reader, OPPORTUNITIES, {"page_size": 3, "cid": 1, "status": "Proposal"})
    statuses = {o.oid: o.status for o in pipeline}
    assert by_filter[1] == "idx_opportunities_cid"
    assert all(statuses[oid] == "Proposal" for oid in by_filter[0])
    customer_url = reverse("api:customer-opportunities", kwargs={"cid": 1})
    assert _page_index(reader, customer_url, {"page_size": 3}) == (expected, "idx_opportunities_cid")
    assert _page_index(reader, OPPORTUNITIES, {"page_size": 3, "status": "Proposal"})[1] is None


# --- Page SQL compiled once per shape (crm.sql.PageSQL) -------------------------------------------
def _page_statements(client, params) -> tuple[list[str], list[list[dict]]]:
    """Walk forward to the end, then back to the start: each page's statement and rows (the
    links hold signed cursors, which carry the time they were signed)."""
    statements, bodies = [], []

    def get(url, query=None):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, query)
        assert response.status_code == HTTPStatus.OK, response.json()
        statements.extend(q["sql"] for q in captured.captured_queries if "crm_opportunities" in q["sql"])
        bodies.append(response.json()["results"])
        return response.json()

    body = get(OPPORTUNITIES, params)
    while body["next"]:
        body = get(body["next"])
        assert len(bodies) <= 2 * len(Opportunity.objects.all()), "the walk does not end"
    while body["previous"]:
        body = get(body["previous"])
        assert len(bodies) <= 4 * len(Opportunity.objects.all()), "the walk back does not end"
    return statements, bodies


@pytest.mark.mysql
@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 3},
        {"page_size": 2, "area": "France", "expected_close_date_from": _day(2).isoformat()},
        {"page_size": 4, "ordering": "-expected_close_date,-oid"},
        {"page_size": 5, "ordering": "oid", "status": "Proposal"},
    ],
    ids=["default order", "filters", "descending", "by oid"],
)
def test_a_cursor_page_runs_the_statement_compiled_afresh_would(reader, pipeline, params):
    """Pages after a shape's first run its SQL compiled once, with their own position: forward
    and back, every statement (parameters included) and every page's rows are the ones compiling each
    page anew gives, and a walk compiles once per direction, not once per page."""
    kept = selectors._CURSOR_PAGES
    compiled_once = PageSQL()
    with (
        mock.patch.object(selectors, "_CURSOR_PAGES", compiled_once),
        mock.patch.object(sql, "sql_of", wraps=sql.sql_of) as compilations,
    ):
        statements, bodies = _page_statements(reader, params)
    once = compilations.call_count
    compiled_each_time = PageSQL()
    with (
        mock.patch.object(selectors, "_CURSOR_PAGES", compiled_each_time),
        mock.patch.object(compiled_each_time, "_keep"),
        mock.patch.object(sql, "sql_of", wraps=sql.sql_of) as compilations,
    ):
        assert _page_statements(reader, params) == (statements, bodies)
    assert len(bodies) > 4
    # The first page, the pages after a cursor, the pages before one.
    assert once == 3
    assert compilations.call_count == len(bodies)
    assert selectors._CURSOR_PAGES is kept


def test_callers_of_different_areas_never_share_a_compiled_page(reader, pipeline):
    """The same URLs for a reader of every area and a reader of France, one after the other:
    the areas are part of the page's shape, so each gets only their own rows."""
    france = APIClient()
    france_user = UserFactory(permissions=["crm.view_opportunity", "crm.view_customer"], areas=["France"])
    france.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=france_user).key}")
    for _ in range(2):
        everyone, _ = _walk(reader, OPPORTUNITIES, {"page_size": 3})
        french, _ = _walk(france, OPPORTUNITIES, {"page_size": 3})
        assert [row["oid"] for row in everyone] == _default_order(pipeline)
        assert [row["oid"] for row in french] == _default_order([o for o in pipeline if o.customer_id == 1])
