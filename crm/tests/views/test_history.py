"""GET /api/opportunities/{oid}/history, /stages and /api/changes through the HTTP API."""

import datetime
import threading
from http import HTTPStatus

import pytest
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Status
from crm.models import Change, Opportunity
from crm.scopes import AreaScope
from crm.services import opportunity_update, write_context
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

READER_PERMS = ["crm.view_opportunity", "crm.view_customer", "crm.view_change"]
EDITOR_PERMS = [*READER_PERMS, "crm.add_opportunity", "crm.change_opportunity", "crm.delete_opportunity"]
LIST_URL = reverse("api:opportunity-list")
FEED_URL = reverse("api:change-feed")
BODY = {
    "cid": 1001,
    "opportunity_name": "Payroll roll-out",
    "product": "Payroll",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "expected_close_date": "2025-03-31",
}


def _client(perms, username=None) -> APIClient:
    user = UserFactory(permissions=perms, **({"username": username} if username else {}))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _history(oid, **params) -> str:
    return reverse("api:opportunity-history", kwargs={"oid": oid})


def _stages(oid) -> str:
    return reverse("api:opportunity-stages", kwargs={"oid": oid})


def _at(entry: Change) -> str:
    return entry.at.isoformat().replace("+00:00", "Z")


@pytest.fixture
def customer():
    return CustomerFactory(cid=1001, customer_name="Garonne Distribution SA", area="France")


@pytest.fixture
def editor():
    return _client(EDITOR_PERMS, username="camille")


@pytest.fixture
def lifecycle(editor, customer):
    """Created, moved to Negotiation, then deleted through the API; returns the oid."""
    oid = editor.post(LIST_URL, BODY, format="json", HTTP_X_REQUEST_ID="req-create-0001").json()["oid"]
    editor.patch(
        reverse("api:opportunity-detail", kwargs={"oid": oid}),
        {"status": "Negotiation"},
        format="json",
        HTTP_X_REQUEST_ID="req-patch-00001",
    )
    editor.delete(reverse("api:opportunity-detail", kwargs={"oid": oid}), HTTP_X_REQUEST_ID="req-delete-0001")
    return oid


def _expected_entries(oid) -> list[dict]:
    entries = list(Change.objects.filter(key=oid).order_by("id"))
    base = {"entity": "opportunity", "key": oid, "cid": 1001, "area": "France", "actor": "camille"}
    base |= {"source": "api", "import_id": None}
    fields = {
        "cid": 1001,
        "opportunity_name": "Payroll roll-out",
        "product": "Payroll",
        "status": "Negotiation",
        "est_monthly_revenue": "1234.50",
        "probability": 75,
        "forecast_category": "Commit",
        "expected_close_date": "2025-03-31",
    }
    created = {**fields, "status": "Proposal", "probability": 50, "forecast_category": "Best Case"}
    return [
        {
            **base,
            "position": entries[0].position,
            "action": "created",
            "changes": {f: [None, v] for f, v in created.items()},
            "request_id": "req-create-0001",
            "at": _at(entries[0]),
        },
        {
            **base,
            "position": entries[1].position,
            "action": "updated",
            "changes": {
                "status": ["Proposal", "Negotiation"],
                "probability": [50, 75],
                "forecast_category": ["Best Case", "Commit"],
            },
            "request_id": "req-patch-00001",
            "at": _at(entries[1]),
        },
        {
            **base,
            "position": entries[2].position,
            "action": "deleted",
            "changes": {f: [v, None] for f, v in fields.items()},
            "request_id": "req-delete-0001",
            "at": _at(entries[2]),
        },
    ]


# --- An opportunity's history --------------------------------------------------------------


def test_history_lists_every_change_oldest_first_and_answers_after_the_delete(lifecycle):
    """Create, PATCH, DELETE: three entries in order, each whole, although the opportunity is gone."""
    assert not Opportunity.objects.filter(oid=lifecycle).exists()
    response = _client(READER_PERMS).get(_history(lifecycle))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"next": None, "results": _expected_entries(lifecycle)}
    # Not yet in the feed: positions are given when the feed is read.
    assert [entry["position"] for entry in response.json()["results"]] == [None, None, None]


def test_history_pages_with_a_cursor_in_one_query_per_page(lifecycle, django_assert_num_queries):
    """page_size=2: a page of two with `next`; following it gives the third and `next` null."""
    reader = _client(READER_PERMS)
    reader.get(_history(lifecycle))  # authenticate once outside the count
    expected = _expected_entries(lifecycle)
    with django_assert_num_queries(1):  # the page (the token from the access cache)
        first = reader.get(_history(lifecycle), {"page_size": 2})
    assert first.json()["results"] == expected[:2]
    assert first.json()["next"].startswith(f"http://testserver{_history(lifecycle)}?cursor=")
    assert first.json()["next"].endswith("&page_size=2")
    second = reader.get(first.json()["next"])
    assert second.json() == {"next": None, "results": expected[2:]}


def test_history_of_an_oid_never_recorded_is_404(customer):
    """An opportunity that exists but was never written through the service has no history: 404."""
    untouched = OpportunityFactory(customer=customer)
    reader = _client(READER_PERMS)
    for oid in (untouched.oid, "0" * 32, "not-an-oid"):
        response = reader.get(_history(oid))
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json() == {
            "type": "client_error",
            "errors": [
                {"code": "not_found", "detail": "No change was ever recorded for this oid.", "attr": None}
            ],
        }


@pytest.mark.parametrize(
    ("query", "attr", "code"),
    [
        ({"page_size": "0"}, "page_size", "min_value"),
        ({"page_size": "1001"}, "page_size", "max_value"),
        ({"page_size": "ten"}, "page_size", "invalid"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor", "invalid"),
        ({"cursor": "%%%"}, "cursor", "invalid"),
        ({"limit": "5"}, "limit", "unknown_parameter"),
    ],
)
def test_bad_history_parameters_are_a_400_naming_them(lifecycle, query, attr, code):
    """A bad page size, a tampered cursor or an unknown parameter: 400 naming it."""
    response = _client(READER_PERMS).get(_history(lifecycle), query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["attr"], e["code"]) for e in response.json()["errors"]] == [(attr, code)]


def test_history_needs_the_opportunity_view_permission(lifecycle):
    """Without crm.view_opportunity: 403, even with crm.view_change."""
    assert _client(["crm.view_change"]).get(_history(lifecycle)).status_code == HTTPStatus.FORBIDDEN
    assert APIClient().get(_history(lifecycle)).status_code == HTTPStatus.UNAUTHORIZED


# --- Stages ------------------------------------------------------------------------------------


def test_stages_follow_the_status_changes(editor, customer):
    """Proposal, then Negotiation, then Closed Won: three stages, the last open, days from the times."""
    oid = editor.post(LIST_URL, BODY, format="json").json()["oid"]
    detail = reverse("api:opportunity-detail", kwargs={"oid": oid})
    editor.patch(detail, {"opportunity_name": "Payroll roll-out FR"}, format="json")  # not a stage change
    editor.patch(detail, {"status": "Negotiation"}, format="json")
    editor.patch(detail, {"status": "Closed Won"}, format="json")
    created, _, negotiation, won = Change.objects.filter(key=oid).order_by("id")
    # Spread the stages over known times, as if the moves had happened days apart.
    day = datetime.timedelta(days=1)
    start = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
    Change.objects.filter(pk=created.pk).update(at=start)
    Change.objects.filter(pk=negotiation.pk).update(at=start + 3 * day)
    Change.objects.filter(pk=won.pk).update(at=start + 10 * day + datetime.timedelta(hours=12))

    response = _client(READER_PERMS).get(_stages(oid))
    assert response.status_code == HTTPStatus.OK
    stages = response.json()
    assert stages[:2] == [
        {
            "status": "Proposal",
            "entered_at": "2026-01-05T09:00:00Z",
            "exited_at": "2026-01-08T09:00:00Z",
            "days": 3.0,
        },
        {
            "status": "Negotiation",
            "entered_at": "2026-01-08T09:00:00Z",
            "exited_at": "2026-01-15T21:00:00Z",
            "days": 7.5,
        },
    ]
    assert stages[2]["status"] == "Closed Won"
    assert (stages[2]["entered_at"], stages[2]["exited_at"]) == ("2026-01-15T21:00:00Z", None)
    assert stages[2]["days"] > 300


def test_stages_of_a_deleted_deal_end_at_the_deletion(lifecycle):
    """The last stage's exit is the deletion's time."""
    deleted = Change.objects.get(key=lifecycle, action="deleted")
    stages = _client(READER_PERMS).get(_stages(lifecycle)).json()
    assert [s["status"] for s in stages] == ["Proposal", "Negotiation"]
    assert stages[1]["exited_at"] == _at(deleted)


def test_stages_of_an_oid_never_recorded_is_404():
    """No history, no stages."""
    assert _client(READER_PERMS).get(_stages("0" * 32)).status_code == HTTPStatus.NOT_FOUND


# --- The change feed ---------------------------------------------------------------------------


def test_the_feed_gives_positions_in_commit_order_and_a_next_to_poll(lifecycle):
    """Three changes: positions 1, 2, 3; `next` after the last; polling it again gives an empty page."""
    reader = _client(READER_PERMS)
    response = reader.get(FEED_URL)
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body == {
        "next": "http://testserver/api/changes?position=3",
        "results": _expected_entries(lifecycle),
    }
    assert [e["position"] for e in body["results"]] == [1, 2, 3]
    again = reader.get(body["next"])
    assert again.json() == {"next": "http://testserver/api/changes?position=3", "results": []}


def test_the_feed_pages_keep_the_filters(lifecycle):
    """page_size=2 and a filter: `next` keeps both and moves the position."""
    reader = _client(READER_PERMS)
    first = reader.get(FEED_URL, {"page_size": 2, "entity": "opportunity"}).json()
    assert [e["action"] for e in first["results"]] == ["created", "updated"]
    assert first["next"] == "http://testserver/api/changes?entity=opportunity&page_size=2&position=2"
    second = reader.get(first["next"]).json()
    assert [e["action"] for e in second["results"]] == ["deleted"]
    assert second["next"] == "http://testserver/api/changes?entity=opportunity&page_size=2&position=3"


def test_an_empty_filtered_page_moves_on_to_the_last_position(lifecycle):
    """No customer changes among positions 1-3: `next` is position 3, not 0 again."""
    body = _client(READER_PERMS).get(FEED_URL, {"entity": "customer"}).json()
    assert body == {"next": "http://testserver/api/changes?entity=customer&position=3", "results": []}


def test_the_feed_filters(lifecycle, customer):
    """entity, action, area, actor and since each narrow the feed; combined they all apply."""
    with write_context(source="command"):
        other = OpportunityFactory(customer=CustomerFactory(area="UK"))
        opportunity_update(opportunity=other, probability=11)
    reader = _client(READER_PERMS)

    def keys(**query):
        return [(e["key"], e["action"]) for e in reader.get(FEED_URL, query).json()["results"]]

    assert keys(action="deleted") == [(lifecycle, "deleted")]
    assert keys(area="UK") == [(other.oid, "updated")]
    assert keys(actor="camille") == [(lifecycle, "created"), (lifecycle, "updated"), (lifecycle, "deleted")]
    assert keys(entity="customer") == []
    Change.objects.filter(key=lifecycle).update(at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert keys(since="2026-01-01T00:00:00.000001Z") == [(other.oid, "updated")]
    assert len(keys(since="2026-01-01T00:00:00Z")) == 4
    assert keys(actor="camille", action="updated") == [(lifecycle, "updated")]


@pytest.mark.parametrize(
    ("query", "attr", "code"),
    [
        ({"entity": "invoice"}, "entity", "invalid_choice"),
        ({"action": "moved"}, "action", "invalid_choice"),
        ({"area": "Spain"}, "area", "invalid_choice"),
        ({"since": "yesterday"}, "since", "invalid"),
        ({"position": "-1"}, "position", "min_value"),
        ({"position": ""}, "position", "invalid"),
        ({"page_size": "0"}, "page_size", "min_value"),
        ({"cursor": "x"}, "cursor", "unknown_parameter"),
    ],
)
def test_bad_feed_parameters_are_a_400_naming_them(query, attr, code):
    """Each bad parameter: 400 naming it."""
    response = _client(READER_PERMS).get(FEED_URL, query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["attr"], e["code"]) for e in response.json()["errors"]] == [(attr, code)]


def test_the_feed_needs_view_change(lifecycle):
    """crm.view_opportunity alone is not enough: 403."""
    client = _client(["crm.view_opportunity", "crm.view_customer"])
    assert client.get(FEED_URL).status_code == HTTPStatus.FORBIDDEN


def test_a_feed_page_is_one_index_range_read(lifecycle, django_assert_num_queries):
    """Sequencing (lock, pending ids) and the page itself: a fixed number of queries whatever the position."""
    reader = _client(READER_PERMS)
    reader.get(FEED_URL)
    # The sequencing transaction (here a savepoint pair): its lock and the pending ids; the page.
    # The token comes from the access cache.
    with django_assert_num_queries(5):
        reader.get(FEED_URL, {"position": 2})


# --- Exactly once under concurrent writers (MySQL) ---------------------------------------------


@pytest.fixture
def committed_deals(transactional_db):
    """Committed opportunities for tests with real transactions; removed afterwards."""
    customer = CustomerFactory(cid=777021, customer_name="Reihenfolge AG", area="Germany")
    deals = [OpportunityFactory(customer=customer, status=Status.PROPOSAL, probability=50) for _ in range(4)]
    yield deals
    Opportunity.objects.filter(customer_id=customer.cid).delete()
    customer.delete()


def _poll(position: int) -> tuple[list[int], int]:
    from crm.selectors import change_feed_page

    entries, next_position = change_feed_page(scope=AreaScope.ALL, position=position, limit=1000)
    return [e.id for e in entries], next_position


@pytest.mark.mysql
def test_a_transaction_that_commits_after_a_younger_one_is_not_skipped(committed_deals):
    """A begins (its entry gets the smaller id), B begins and commits, the consumer polls, then A commits:
    the consumer's next poll returns A's entry. Ordering the feed by id would have skipped it."""
    a_wrote, release_a = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                opportunity_update(opportunity=committed_deals[0], probability=41)
                a_wrote.set()
                release_a.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert a_wrote.wait(timeout=30)
    opportunity_update(opportunity=committed_deals[1], probability=42)  # B, committed at once
    seen, position = _poll(0)
    b_entry = Change.objects.get(key=committed_deals[1].oid)
    assert seen == [b_entry.id]
    release_a.set()
    thread.join(timeout=30)
    a_entry = Change.objects.get(key=committed_deals[0].oid)
    assert a_entry.id < b_entry.id  # A's entry was inserted first...
    more, _ = _poll(position)
    assert more == [a_entry.id]  # ...and the consumer still gets it, once.


@pytest.mark.mysql
def test_the_feed_under_concurrent_writers_never_skips_or_repeats(committed_deals):
    """4 writer threads x 25 updates while a consumer polls: every entry exactly once, in position order."""
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(index: int):
        try:
            deal = committed_deals[index]
            for n in range(25):
                opportunity_update(opportunity=deal, probability=n + 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def consumer():
        position = 0
        try:
            while not stop.is_set():
                ids, position = _poll(position)
                seen.extend(ids)
            ids, position = _poll(position)
            seen.extend(ids)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connection.close()

    reading = threading.Thread(target=consumer)
    reading.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    reading.join(timeout=60)

    assert errors == []
    recorded = list(Change.objects.order_by("position").values_list("id", flat=True))
    assert len(recorded) == 100
    assert len(seen) == len(set(seen))  # nothing repeated
    assert sorted(seen) == sorted(recorded)  # nothing skipped
    assert seen == recorded  # in position order


@pytest.mark.mysql
def test_the_feed_filters_compare_actor_and_area_exactly(lifecycle):
    """On MySQL `actor=CAMILLE` finds none of camille's changes, and `area=France` none made in `france`."""
    with write_context(source="command"):
        legacy = OpportunityFactory(customer=CustomerFactory(area="france"))
        opportunity_update(opportunity=legacy, probability=11)
    reader = _client(READER_PERMS)

    def keys(**query):
        return [(e["key"], e["action"]) for e in reader.get(FEED_URL, query).json()["results"]]

    assert Change.objects.filter(actor="CAMILLE").count() == 3  # the collation alone matches them
    assert keys(actor="CAMILLE") == []
    assert keys(actor="camille") == [(lifecycle, "created"), (lifecycle, "updated"), (lifecycle, "deleted")]
    assert Change.objects.filter(area="France", key=legacy.oid).count() == 1
    assert (legacy.oid, "updated") not in keys(area="France")
