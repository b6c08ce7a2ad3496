"""The admin's change history: recorded customer and revenue saves, each row's history page, the
"Changes" list with its filters and CSV export."""

import csv
import datetime
import io
import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from crm.models import Change, Customer, RevenueActual, RevenueTarget
from crm.services import opportunity_create, opportunity_delete, opportunity_update, write_context

from .factories import CustomerFactory, RevenueActualFactory, UserFactory

pytestmark = pytest.mark.django_db

REQUEST_ID = "req-admin-00001"


def _staff(username: str, *perms: str) -> Client:
    client = Client()
    client.force_login(UserFactory(username=username, is_staff=True, permissions=list(perms)))
    return client


def _entries() -> list[dict]:
    rows = list(Change.objects.order_by("id").values())
    for row in rows:
        assert row.pop("at") is not None
        for name in ("id", "position"):
            row.pop(name)
    return rows


def _customer_form(customer: Customer, **changes) -> dict:
    form = {
        "cid": customer.cid,
        "customer_name": customer.customer_name,
        "area": customer.area,
        "account_executive": customer.account_executive or "",
        "technical_specialist": customer.technical_specialist or "",
        "industry": customer.industry or "",
        "contract_type": customer.contract_type or "",
        "contract_start_date": customer.contract_start_date.isoformat(),
        "contract_end_date": customer.contract_end_date.isoformat(),
        "is_active": "on" if customer.is_active else "",
        # The read-only opportunity inline's management form.
        "opportunities-TOTAL_FORMS": "0",
        "opportunities-INITIAL_FORMS": "0",
        "opportunities-MIN_NUM_FORMS": "0",
        "opportunities-MAX_NUM_FORMS": "1000",
    }
    return {**form, **changes}


@pytest.fixture
def customer():
    return CustomerFactory(
        cid=9001,
        customer_name="Atelier Paris",
        area="France",
        account_executive="Ines Morel",
        contract_start_date=datetime.date(2024, 1, 1),
        contract_end_date=datetime.date(2026, 12, 31),
    )


# --- Customer and revenue saves in the admin are recorded ---------------------------------------


def test_a_customer_change_in_the_admin_records_only_the_changed_fields(customer):
    """A new account executive: one entry, that field old → new, the admin door, the user, the request id."""
    client = _staff("ops1", "crm.view_customer", "crm.change_customer")
    url = reverse("admin:crm_customer_change", args=[customer.cid])
    response = client.post(
        url, _customer_form(customer, account_executive="Marc Petit"), HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert response.status_code == HTTPStatus.FOUND
    assert _entries() == [
        {
            "entity": "customer",
            "key": "9001",
            "cid": 9001,
            "area": "France",
            "action": "updated",
            "changes": {"account_executive": ["Ines Morel", "Marc Petit"]},
            "actor": "ops1",
            "source": "admin",
            "request_id": REQUEST_ID,
            "import_id": None,
        }
    ]


def test_a_customer_save_that_changes_nothing_or_is_refused_records_nothing(customer):
    """Saving the page unchanged, and a refused form (an area outside the vocabulary): no entry."""
    client = _staff("ops1", "crm.view_customer", "crm.change_customer")
    url = reverse("admin:crm_customer_change", args=[customer.cid])
    assert client.post(url, _customer_form(customer)).status_code == HTTPStatus.FOUND
    assert client.post(url, _customer_form(customer, area="Spain")).status_code == HTTPStatus.OK
    assert Customer.objects.get(cid=9001).area == "France"
    assert _entries() == []


def test_a_revenue_target_added_in_the_admin_is_recorded_as_created():
    """Every field with old null; the key is the new row's id."""
    client = _staff("ops2", "crm.view_revenuetarget", "crm.add_revenuetarget")
    response = client.post(
        reverse("admin:crm_revenuetarget_add"), {"area": "UK", "fiscal_year": "2026", "target": "1500000.00"}
    )  # without an X-Request-ID header the middleware makes one up: the entry carries it
    assert response.status_code == HTTPStatus.FOUND
    target = RevenueTarget.objects.get()
    assert _entries() == [
        {
            "entity": "revenue_target",
            "key": str(target.id),
            "cid": None,
            "area": "UK",
            "action": "created",
            "changes": {"area": [None, "UK"], "fiscal_year": [None, 2026], "target": [None, "1500000.00"]},
            "actor": "ops2",
            "source": "admin",
            "request_id": response["X-Request-ID"],
            "import_id": None,
        }
    ]


def test_revenue_actuals_deleted_in_bulk_are_each_recorded_with_their_last_values():
    """The "delete selected" action: one deleted entry per row, new values null."""
    rows = [RevenueActualFactory(month=datetime.date(2025, m, 1), revenue=Decimal("100.00")) for m in (1, 2)]
    client = _staff("ops3", "crm.view_revenueactual", "crm.delete_revenueactual")
    response = client.post(
        reverse("admin:crm_revenueactual_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [r.id for r in rows], "post": "yes"},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not RevenueActual.objects.exists()
    assert [(e["key"], e["action"], e["changes"]) for e in _entries()] == [
        (
            str(row.id),
            "deleted",
            {"area": ["France", None], "month": [row.month.isoformat(), None], "revenue": ["100.00", None]},
        )
        for row in sorted(rows, key=lambda r: r.id)
    ]


# --- History pages ---------------------------------------------------------------------------------


def _opportunity(customer):
    with write_context(source="api", actor="camille", request_id=REQUEST_ID):
        created = opportunity_create(
            cid=customer.cid,
            opportunity_name="Payroll roll-out",
            product="Payroll",
            status="Proposal",
            est_monthly_revenue=Decimal("1234.50"),
            expected_close_date=datetime.date(2025, 3, 31),
        )
        opportunity_update(opportunity=created, status="Negotiation")
    return created


def test_an_opportunity_history_page_shows_field_old_new_who_and_from_where(customer):
    """The "History" button: each change with the field, old and new value, the user and the door."""
    opportunity = _opportunity(customer)
    client = _staff("viewer", "crm.view_opportunity")
    response = client.get(reverse("admin:crm_opportunity_history", args=[opportunity.oid]))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Change history: Payroll roll-out" in html
    assert "<td>status</td>\n      <td>Proposal</td>\n      <td>Negotiation</td>" in html
    assert "<td>est_monthly_revenue</td>\n      <td>—</td>\n      <td>1234.50</td>" in html
    assert html.count("camille") == 2
    assert f"api<br><small>request {REQUEST_ID}</small>" in html


def test_a_deleted_opportunity_keeps_its_history_page(customer):
    """After the delete the row is gone, its history page is not."""
    opportunity = _opportunity(customer)
    opportunity_delete(opportunity=opportunity)
    client = _staff("viewer", "crm.view_opportunity")
    response = client.get(reverse("admin:crm_opportunity_history", args=[opportunity.oid]))
    assert response.status_code == HTTPStatus.OK
    assert f"{opportunity.oid} (deleted)" in response.content.decode()
    assert (
        client.get(reverse("admin:crm_opportunity_history", args=["0" * 32])).status_code
        == HTTPStatus.NOT_FOUND
    )


def test_a_history_page_needs_the_rows_view_permission(customer):
    """A staff user without crm.view_customer may not read a customer's history."""
    client = _staff("nobody")
    response = client.get(reverse("admin:crm_customer_history", args=[customer.cid]))
    assert response.status_code == HTTPStatus.FORBIDDEN


# --- The "Changes" list -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, 3),
        ({"actor": "camille"}, 2),
        ({"actor": "-"}, 1),
        ({"source": "api"}, 2),
        ({"entity": "customer"}, 1),
        ({"area": "France"}, 3),
        ({"area": "UK"}, 0),
        ({"action": "created"}, 1),
        ({"at__gte": "2000-01-01 00:00:00+00:00"}, 3),
    ],
)
def test_the_changes_list_filters(customer, query, expected):
    """Actor (or system job), source, entity, area, action and date each narrow the list."""
    _opportunity(customer)
    from crm.services import customer_update

    customer_update(customer=customer, industry="Shipbuilding")
    client = _staff("viewer", "crm.view_change")
    response = client.get(reverse("admin:crm_change_changelist"), query)
    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == expected


@pytest.mark.mysql
def test_the_changes_list_filters_actor_and_area_exactly(customer):
    """On MySQL `actor=CAMILLE` lists none of camille's changes, and `area=France` none made in `france`."""
    _opportunity(customer)
    _opportunity(CustomerFactory(cid=9002, area="france"))
    assert Change.objects.filter(actor="CAMILLE").count() == 4  # the collation alone matches them
    client = _staff("viewer", "crm.view_change")
    url = reverse("admin:crm_change_changelist")

    def count(**query):
        return client.get(url, query).context["cl"].result_count

    assert count(actor="CAMILLE") == 0
    assert count(actor="camille") == 4
    assert count(area="France") == 2


def test_the_changes_list_exports_the_selected_entries_as_csv(customer):
    """Every column; changes as JSON."""
    opportunity = _opportunity(customer)
    client = _staff("viewer", "crm.view_change")
    entries = list(Change.objects.order_by("id"))
    response = client.post(
        reverse("admin:crm_change_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: [e.pk for e in entries]},
    )
    assert response.status_code == HTTPStatus.OK
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "position", "at", "entity", "key", "cid", "area", "action",
        "changes", "actor", "source", "request_id", "import_id",
    ]  # fmt: skip
    updated = rows[1]  # newest first, as the list shows them
    assert updated[2:7] == ["opportunity", opportunity.oid, "9001", "France", "updated"]
    assert json.loads(updated[7]) == {
        "status": ["Proposal", "Negotiation"],
        "probability": [50, 75],
        "forecast_category": ["Best Case", "Commit"],
    }
    assert updated[8:] == ["camille", "api", REQUEST_ID, ""]


def test_nobody_adds_edits_or_deletes_changes_in_the_admin(customer):
    """Even a superuser: no add page, no delete, the change page is read only."""
    _opportunity(customer)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    entry = Change.objects.first()
    assert client.get(reverse("admin:crm_change_add")).status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("admin:crm_change_delete", args=[entry.pk])).status_code == HTTPStatus.FORBIDDEN
    page = client.get(reverse("admin:crm_change_change", args=[entry.pk]))
    assert page.status_code == HTTPStatus.OK
    assert b'name="_save"' not in page.content
