"""Change history recording: every write through the API, the admin and the shell leaves exactly
the right entry in its own transaction; a write that fails or changes nothing leaves none."""

import datetime
import threading
from decimal import Decimal
from http import HTTPStatus
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Status
from crm.models import Change, Opportunity
from crm.services import opportunity_create, opportunity_update, write_context
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

EDITOR_PERMS = [
    "crm.view_opportunity",
    "crm.view_customer",
    "crm.add_opportunity",
    "crm.change_opportunity",
    "crm.delete_opportunity",
]
LIST_URL = reverse("api:opportunity-list")
REQUEST_ID = "req-0123456789"


def _detail(oid: str) -> str:
    return reverse("api:opportunity-detail", kwargs={"oid": oid})


def _editor(username="editor1") -> APIClient:
    user = UserFactory(username=username, permissions=EDITOR_PERMS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _entries() -> list[dict]:
    """Every entry as a dict, oldest first; ``at`` checked present and then left out."""
    rows = list(Change.objects.order_by("id").values())
    for row in rows:
        assert row.pop("at") is not None
        row.pop("id")
        row.pop("position")
    return rows


@pytest.fixture
def customer():
    return CustomerFactory(cid=1001, customer_name="Garonne Distribution SA", area="France")


@pytest.fixture
def proposal(customer):
    return OpportunityFactory(
        oid="0" * 31 + "1",
        customer=customer,
        opportunity_name="Payroll roll-out",
        product="Payroll",
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("1234.50"),
        probability=50,
        forecast_category="Best Case",
        expected_close_date="2025-03-31",
    )


BODY = {
    "cid": 1001,
    "opportunity_name": "Payroll roll-out",
    "product": "Payroll",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "expected_close_date": "2025-03-31",
}
FIELDS = {
    "cid": 1001,
    "opportunity_name": "Payroll roll-out",
    "product": "Payroll",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
}


def _entry(oid, action, changes, *, actor="editor1", source="api", request_id=REQUEST_ID, import_id=None):
    return {
        "entity": "opportunity",
        "key": oid,
        "cid": 1001,
        "area": "France",
        "action": action,
        "changes": changes,
        "actor": actor,
        "source": source,
        "request_id": request_id,
        "import_id": import_id,
    }


# --- The API -------------------------------------------------------------------------------


def test_an_api_create_records_every_field_with_old_null(customer):
    """POST: one entry, action created, each stored field as [null, value], the user and the request id."""
    response = _editor().post(LIST_URL, BODY, format="json", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == HTTPStatus.CREATED
    oid = response.json()["oid"]
    assert _entries() == [_entry(oid, "created", {f: [None, v] for f, v in FIELDS.items()})]
    # The entry is written after the row, by the database clock.
    assert Change.objects.get().at >= Opportunity.objects.get(oid=oid).updated_at


def test_an_api_patch_records_only_what_changed(proposal):
    """PATCH of the status: the status and the two defaults it resets, old and new; nothing else."""
    response = _editor().patch(
        _detail(proposal.oid), {"status": "Negotiation"}, format="json", HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert response.status_code == HTTPStatus.OK
    assert _entries() == [
        _entry(
            proposal.oid,
            "updated",
            {
                "status": ["Proposal", "Negotiation"],
                "probability": [50, 75],
                "forecast_category": ["Best Case", "Commit"],
            },
        )
    ]


def test_an_api_delete_records_the_last_values_with_new_null(proposal):
    """DELETE: one entry, action deleted, each field as [last value, null]."""
    response = _editor().delete(_detail(proposal.oid), HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert _entries() == [_entry(proposal.oid, "deleted", {f: [v, None] for f, v in FIELDS.items()})]


def test_a_patch_that_changes_nothing_records_nothing_and_writes_nothing(proposal):
    """The same values again: 200, no entry, updated_at and the ETag as before."""
    client = _editor()
    before = client.get(_detail(proposal.oid))
    response = client.patch(_detail(proposal.oid), {"status": "Proposal", "probability": 50}, format="json")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == before.json()
    assert response["ETag"] == before["ETag"]
    assert _entries() == []


def test_an_idempotent_replay_records_nothing(customer):
    """The same Idempotency-Key twice: one opportunity, one entry."""
    client = _editor()
    first = client.post(
        LIST_URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1", HTTP_X_REQUEST_ID=REQUEST_ID
    )
    replay = client.post(LIST_URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, replay.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert replay["Idempotent-Replayed"] == "true"
    oid = first.json()["oid"]
    assert _entries() == [_entry(oid, "created", {f: [None, v] for f, v in FIELDS.items()})]


# --- Failing writes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("post", {**BODY, "cid": 999999}, HTTPStatus.BAD_REQUEST),  # unknown customer
        ("post", {**BODY, "status": "Closed Won", "probability": 10}, HTTPStatus.BAD_REQUEST),  # rule
        ("post", {**BODY, "est_monthly_revenue": "-1"}, HTTPStatus.BAD_REQUEST),  # parse/limit
        ("patch", {"probability": 101}, HTTPStatus.BAD_REQUEST),
        ("patch", {"cid": 999999}, HTTPStatus.BAD_REQUEST),
        ("put", {**BODY, "opportunity_name": " "}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_a_write_that_breaks_a_rule_records_nothing(proposal, method, body, expected):
    """Each kind of refused write: its 400, the row unchanged, no entry."""
    before = Opportunity.objects.filter(oid=proposal.oid).values().get()
    target = LIST_URL if method == "post" else _detail(proposal.oid)
    response = getattr(_editor(), method)(target, body, format="json")
    assert response.status_code == expected
    assert Opportunity.objects.filter(oid=proposal.oid).values().get() == before
    assert Opportunity.objects.count() == 1
    assert _entries() == []


def test_a_stale_if_match_records_nothing(proposal):
    """412: no entry."""
    response = _editor().patch(
        _detail(proposal.oid), {"probability": 40}, format="json", HTTP_IF_MATCH='"stale"'
    )
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert _entries() == []


def test_an_update_of_a_deleted_opportunity_records_nothing(proposal):
    """The row vanished between the lookup and the lock: 404, no entry."""
    client = _editor()
    real_get = Opportunity.objects.select_for_update

    def vanish(*args, **kwargs):
        Opportunity.objects.filter(oid=proposal.oid).delete()
        return real_get(*args, **kwargs)

    with mock.patch.object(Opportunity.objects, "select_for_update", side_effect=vanish):
        response = client.patch(_detail(proposal.oid), {"probability": 40}, format="json")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert _entries() == []


@pytest.mark.parametrize("write", ["create", "update"])
def test_a_database_error_after_the_write_rolls_back_the_write_and_records_nothing(proposal, customer, write):
    """A statement after the INSERT/UPDATE fails (a create's history INSERT, an update's read-back):
    the error propagates; rows and history as before."""
    before = list(Opportunity.objects.values())
    if write == "create":
        failing = mock.patch("crm.services.bulk.rows_insert", side_effect=DatabaseError("gone"))
    else:
        read_back = "crm.services.opportunities._opportunity_read"
        failing = mock.patch(read_back, side_effect=DatabaseError("gone"))
    with failing, pytest.raises(DatabaseError):
        if write == "create":
            values = {
                **BODY,
                "est_monthly_revenue": Decimal("10"),
                "expected_close_date": datetime.date(2025, 3, 31),
            }
            opportunity_create(**values)
        else:
            opportunity_update(opportunity=proposal, probability=40)
    assert list(Opportunity.objects.values()) == before
    assert _entries() == []


def test_a_failing_history_insert_rolls_back_the_write(proposal):
    """The entry cannot be written: the update is rolled back with it (never a write without its entry)."""
    failing_insert = mock.patch("crm.services.bulk.rows_insert", side_effect=DatabaseError("disk full"))
    with failing_insert, pytest.raises(DatabaseError):
        opportunity_update(opportunity=proposal, probability=40)
    assert Opportunity.objects.get(oid=proposal.oid).probability == 50


# --- The admin, the shell, commands and the import ---------------------------------------


def test_an_admin_create_records_the_admin_door_and_the_user(client, customer):
    """The opportunity add page writes through the service: source admin, the staff user, the request id."""
    user = UserFactory(username="ops1", is_staff=True, permissions=EDITOR_PERMS)
    client.force_login(user)
    form = {
        "customer": customer.cid,
        "opportunity_name": "Payroll roll-out",
        "product": "Payroll",
        "status": "Proposal",
        "est_monthly_revenue": "1234.50",
        "probability": "",
        "forecast_category": "",
        "expected_close_date": "2025-03-31",
    }
    response = client.post(reverse("admin:crm_opportunity_add"), form, HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == HTTPStatus.FOUND
    oid = Opportunity.objects.get().oid
    assert _entries() == [
        _entry(oid, "created", {f: [None, v] for f, v in FIELDS.items()}, actor="ops1", source="admin")
    ]


def test_a_shell_write_records_the_shell_door_and_no_actor(proposal):
    """``manage.py shell -c``: source shell, no user, no request."""
    call_command(
        "shell",
        command=(
            f"o = Opportunity.objects.get(oid={proposal.oid!r})\n"
            "opportunity_update(opportunity=o, probability=40)"
        ),
    )
    assert _entries() == [
        _entry(
            proposal.oid, "updated", {"probability": [50, 40]}, actor=None, source="shell", request_id=None
        )
    ]


def test_a_write_outside_any_door_is_a_command_without_actor(proposal):
    """A management command or script: source command, no actor, no request id."""
    opportunity_update(opportunity=proposal, probability=40)
    assert _entries() == [
        _entry(
            proposal.oid, "updated", {"probability": [50, 40]}, actor=None, source="command", request_id=None
        )
    ]


def test_an_import_context_inside_a_request_keeps_the_request_id(proposal):
    """write_context(source=import, import_id=...) nested in a request's context inherits its request id."""
    with write_context(source="api", request_id=REQUEST_ID, actor="someone"):
        with write_context(source=Change.Source.IMPORT, actor="importer", import_id="imp-7"):
            opportunity_update(opportunity=proposal, probability=40)
        opportunity_update(opportunity=proposal, probability=45)
    assert _entries() == [
        _entry(
            proposal.oid,
            "updated",
            {"probability": [50, 40]},
            actor="importer",
            source="import",
            import_id="imp-7",
        ),
        _entry(proposal.oid, "updated", {"probability": [40, 45]}, actor="someone", source="api"),
    ]


def test_an_unknown_source_is_refused():
    """A typo in the door's name fails at once instead of being recorded."""
    with pytest.raises(ValueError, match="unknown source 'imprt'"), write_context(source="imprt"):
        pass


# --- Concurrency (MySQL) -------------------------------------------------------------------


@pytest.fixture
def committed_proposal(transactional_db):
    """A committed opportunity for tests with real transactions; removed afterwards."""
    customer = CustomerFactory(cid=777012, customer_name="Kette GmbH", area="Germany")
    opportunity = OpportunityFactory(customer=customer, status=Status.PROPOSAL, probability=50)
    yield opportunity
    Opportunity.objects.filter(customer_id=customer.cid).delete()
    customer.delete()


@pytest.mark.mysql
def test_twenty_concurrent_patches_leave_an_unbroken_chain(committed_proposal):
    """20 editors PATCH one opportunity at once: 20 entries, each one's old values the previous one's new."""
    clients = [_editor(f"chain{i}") for i in range(20)]
    barrier = threading.Barrier(20)
    statuses = []

    def patch(index: int):
        try:
            barrier.wait()
            body = {"est_monthly_revenue": f"{1000 + index}.00", "opportunity_name": f"Deal v{index}"}
            statuses.append(
                clients[index].patch(_detail(committed_proposal.oid), body, format="json").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses == [HTTPStatus.OK] * 20
    entries = list(Change.objects.filter(key=committed_proposal.oid).order_by("id"))
    assert [e.action for e in entries] == ["updated"] * 20
    state = {"est_monthly_revenue": "2500.00", "opportunity_name": committed_proposal.opportunity_name}
    for entry in entries:
        assert set(entry.changes) == {"est_monthly_revenue", "opportunity_name"}
        for field, (old, new) in entry.changes.items():
            assert old == state[field]
            state[field] = new
    assert sorted(e.actor for e in entries) == sorted(f"chain{i}" for i in range(20))
    stored = Opportunity.objects.get(oid=committed_proposal.oid)
    assert (str(stored.est_monthly_revenue), stored.opportunity_name) == (
        state["est_monthly_revenue"],
        state["opportunity_name"],
    )
