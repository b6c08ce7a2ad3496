"""The Django admin: permissions, filters, service-backed forms, CSV and workbook exports, query counts."""

import csv
import datetime
import functools
import html
import io
import re
from decimal import Decimal
from http import HTTPStatus
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from crm import rendering, services
from crm.admin import OpportunityAdmin, OpportunityAdminForm, RevenueAdminForm
from crm.choices import Area, ForecastCategory, Product, Status
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget

from .factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = {
    "customer": Customer,
    "opportunity": Opportunity,
    "revenueactual": RevenueActual,
    "revenuetarget": RevenueTarget,
}


def _perms(model_name: str, *actions: str) -> list[str]:
    return [f"crm.{action}_{model_name}" for action in actions]


def _client_for(*perms: str, is_staff: bool = True) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=is_staff, permissions=list(perms)))
    return client


@pytest.fixture
def data():
    """A small, fully known dataset: two customers in two areas, their deals, revenue rows."""
    paris = CustomerFactory(
        cid=9001,
        customer_name="Atelier Paris",
        area=Area.FRANCE,
        account_executive="Ines Morel",
        technical_specialist=None,
        is_key_account=True,
    )
    berlin = CustomerFactory(
        cid=9002,
        customer_name="Berlin Werk",
        area=Area.GERMANY,
        account_executive="Jonas Weber",
        technical_specialist="Lena Roth",
        is_active=False,
    )
    close = datetime.date(2025, 3, 31)
    opps = {
        "paris_open": OpportunityFactory(
            oid="a" * 32,
            customer=paris,
            opportunity_name="Payroll rollout",
            product=Product.PAYROLL,
            status=Status.PROPOSAL,
            est_monthly_revenue=Decimal("1200.50"),
            expected_close_date=close,
        ),
        "paris_open_2": OpportunityFactory(
            oid="b" * 32,
            customer=paris,
            opportunity_name="Expenses add-on",
            product=Product.EXPENSES,
            status=Status.PROSPECTING,
            est_monthly_revenue=Decimal("300.00"),
            expected_close_date=close,
        ),
        "paris_won": OpportunityFactory(
            oid="c" * 32,
            customer=paris,
            opportunity_name="=HYPERLINK(evil)",
            product=Product.ACCOUNTING,
            status=Status.CLOSED_WON,
            est_monthly_revenue=Decimal("9999.00"),
            expected_close_date=datetime.date(2024, 11, 15),
        ),
        "berlin_open": OpportunityFactory(
            oid="d" * 32,
            customer=berlin,
            opportunity_name="Time entry pilot",
            product=Product.TIME_ENTRY,
            status=Status.NEGOTIATION,
            est_monthly_revenue=Decimal("800.00"),
            expected_close_date=datetime.date(2025, 6, 30),
        ),
    }
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2024, 8, 1), revenue=Decimal("1000.00"))
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2025, 8, 1), revenue=Decimal("2000.00"))
    RevenueActualFactory(area=Area.GERMANY, month=datetime.date(2024, 9, 1), revenue=Decimal("3000.00"))
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2025, target=Decimal("5440000.00"))
    RevenueTargetFactory(area=Area.GERMANY, fiscal_year=2025, target=Decimal("6000000.00"))
    RevenueTargetFactory(area=Area.GERMANY, fiscal_year=2026, target=Decimal("6500000.00"))
    return {"paris": paris, "berlin": berlin, **opps}


# Each list's searches and filters, with the number of rows of `data` they must leave.
LIST_QUERIES = {
    "customer": [
        ("q=Atelier", 1),
        ("q=9002", 1),
        ("area__exact=France", 1),
        ("is_active__exact=0", 1),
        ("is_key_account__exact=1", 1),
        ("account_executive=Jonas+Weber", 1),
        ("technical_specialist__isnull=True", 1),
    ],
    "opportunity": [
        ("q=rollout", 1),
        ("q=" + "d" * 32, 1),
        ("q=Berlin", 1),
        ("status__exact=Proposal", 1),
        ("product__exact=Expenses", 1),
        ("forecast_category__exact=Commit", 1),
        ("customer__area__exact=France", 3),
        ("close_fiscal_year=2025", 4),
        ("close_fiscal_year=2025&status__exact=Proposal", 1),
        ("close_fiscal_year=2024", 0),
    ],
    "revenueactual": [
        ("q=Germany", 1),
        ("area__exact=France", 2),
        ("fiscal_year=2025", 2),
        ("month__year=2025", 1),
    ],
    "revenuetarget": [
        ("q=France", 1),
        ("area__exact=Germany", 2),
        ("fiscal_year__exact=2026", 1),
    ],
}
LIST_CASES = [(model, query, rows) for model, queries in LIST_QUERIES.items() for query, rows in queries]


def _pk_of(data, model_name):
    return {
        "customer": data["paris"].pk,
        "opportunity": data["paris_open"].pk,
        "revenueactual": RevenueActual.objects.first().pk,
        "revenuetarget": RevenueTarget.objects.first().pk,
    }[model_name]


# --- Permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(("model_name", "query", "rows"), LIST_CASES)
def test_search_and_filter_answer_with_the_matching_rows(data, model_name, query, rows):
    """Each search and filter of each list answers a viewer with the matching rows; 403 without view."""
    url = reverse(f"admin:crm_{model_name}_changelist") + "?" + query
    response = _client_for(*_perms(model_name, "view")).get(url)
    refused = _client_for(*_perms(model_name, "add", "delete")).get(url)
    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == rows
    assert refused.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("model_name", MODELS)
def test_every_page_answers_a_user_with_the_permissions(data, model_name):
    """Changelist, add and change pages answer 200 for a staff user with the model's permissions."""
    client = _client_for(*_perms(model_name, "view", "add", "change", "delete"))
    pk = _pk_of(data, model_name)
    for url in (
        reverse(f"admin:crm_{model_name}_changelist"),
        reverse(f"admin:crm_{model_name}_add"),
        reverse(f"admin:crm_{model_name}_change", args=[pk]),
    ):
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.OK


@pytest.mark.parametrize("model_name", MODELS)
def test_every_page_refuses_a_user_without_the_permissions(data, model_name):
    """A staff user without the model's permissions gets 403 everywhere; a non-staff user the login."""
    pk = _pk_of(data, model_name)
    urls = [
        reverse(f"admin:crm_{model_name}_changelist"),
        reverse(f"admin:crm_{model_name}_changelist") + "?" + LIST_QUERIES[model_name][0][0],
        reverse(f"admin:crm_{model_name}_add"),
        reverse(f"admin:crm_{model_name}_change", args=[pk]),
    ]
    other_models = [p for name in MODELS if name != model_name for p in _perms(name, "view")]
    staff_without = _client_for(*other_models)
    not_staff = _client_for(*_perms(model_name, "view", "add", "change", "delete"), is_staff=False)
    for url in urls:
        assert staff_without.get(url).status_code == HTTPStatus.FORBIDDEN, url
        response = not_staff.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.parametrize("model_name", MODELS)
def test_a_reader_sees_but_cannot_change(data, model_name):
    """With view_* only, list and detail answer, but adding and saving are refused and nothing changes."""
    client = _client_for(*_perms(model_name, "view"))
    model = MODELS[model_name]
    pk = _pk_of(data, model_name)
    before = list(model.objects.order_by("pk").values())

    detail = client.get(reverse(f"admin:crm_{model_name}_change", args=[pk]))
    add = client.get(reverse(f"admin:crm_{model_name}_add"))
    save = client.post(reverse(f"admin:crm_{model_name}_change", args=[pk]), {"area": "UK"})
    delete = client.post(reverse(f"admin:crm_{model_name}_delete", args=[pk]), {"post": "yes"})

    assert detail.status_code == HTTPStatus.OK
    assert 'name="_save"' not in detail.content.decode()
    assert add.status_code == HTTPStatus.FORBIDDEN
    assert save.status_code == HTTPStatus.FORBIDDEN
    assert delete.status_code == HTTPStatus.FORBIDDEN
    assert list(model.objects.order_by("pk").values()) == before


def test_header_and_title_come_from_app_name(data):
    """The admin pages carry APP_NAME as header and title."""
    client = _client_for(*_perms("customer", "view"))
    html = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert f'<a href="/admin/">{settings.APP_NAME}</a>' in html
    assert f"| {settings.APP_NAME}</title>" in html


# --- Customer list ------------------------------------------------------------------------


def test_customer_list_counts_and_sums_open_opportunities_only(data):
    """The open-opportunity columns leave Closed Won/Lost deals out, and show 0 for a customer without any."""
    lonely = CustomerFactory(cid=9003, customer_name="Zurich Solo", area=Area.SWITZERLAND)
    client = _client_for(*_perms("customer", "view"))
    response = client.get(reverse("admin:crm_customer_changelist"))
    rows = {c.cid: (c.open_opportunities, c.open_monthly_revenue) for c in response.context["cl"].result_list}
    assert rows == {
        9001: (2, Decimal("1500.50")),
        9002: (1, Decimal("800.00")),
        lonely.cid: (0, Decimal("0")),
    }


def test_customer_page_shows_its_opportunities_read_only(data):
    """The customer page lists its deals without inputs for them; hidden from users who may not view deals."""
    url = reverse("admin:crm_customer_change", args=[9001])
    client = _client_for(*_perms("customer", "view", "change"), *_perms("opportunity", "view", "change"))
    html = client.get(url).content.decode()
    for name in ("Payroll rollout", "Expenses add-on", "=HYPERLINK(evil)"):
        assert name in html
    assert "Time entry pilot" not in html
    assert 'name="opportunities-0-opportunity_name"' not in html
    without = _client_for(*_perms("customer", "view", "change")).get(url).content.decode()
    assert "Payroll rollout" not in without


# --- Opportunity form through the services -------------------------------------------------


def _opportunity_post(**overrides) -> dict:
    post = {
        "customer": "9001",
        "opportunity_name": "Admin-made deal",
        "product": Product.ACCOUNTING,
        "status": Status.QUALIFICATION,
        "est_monthly_revenue": "2500.50",
        "probability": "",
        "forecast_category": "",
        "expected_close_date": "2025-05-31",
    }
    post.update(overrides)
    return post


EDITOR_PERMS = _perms("opportunity", "view", "add", "change", "delete")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"status": Status.CLOSED_WON, "probability": "50"},
            "probability",
            "A Closed Won opportunity must have probability 100.",
        ),
        ({"est_monthly_revenue": "0"}, "est_monthly_revenue", "Must be greater than 0."),
        ({"est_monthly_revenue": "12.345"}, "est_monthly_revenue", "At most 2 decimal places are allowed."),
        ({"probability": "101"}, "probability", "Must be between 0 and 100."),
        (
            {"status": Status.PROSPECTING, "forecast_category": ForecastCategory.CLOSED},
            "forecast_category",
            "Forecast category Closed is only for Closed Won opportunities.",
        ),
    ],
)
def test_admin_create_breaking_a_rule_shows_the_rules_message(data, overrides, field, message):
    """The service's message appears on the field it names, and nothing is written."""
    client = _client_for(*EDITOR_PERMS)
    before = set(Opportunity.objects.values_list("oid", flat=True))

    response = client.post(reverse("admin:crm_opportunity_add"), _opportunity_post(**overrides))

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == {field: [message]}
    assert set(Opportunity.objects.values_list("oid", flat=True)) == before


def test_admin_created_opportunity_is_stored_by_the_service_rules(data):
    """A valid add stores one row with a uuid4-hex oid and the status's default probability and category."""
    client = _client_for(*EDITOR_PERMS)
    before = set(Opportunity.objects.values_list("oid", flat=True))

    response = client.post(reverse("admin:crm_opportunity_add"), _opportunity_post())

    assert response.status_code == HTTPStatus.FOUND
    (oid,) = set(Opportunity.objects.values_list("oid", flat=True)) - before
    assert re.fullmatch(r"[0-9a-f]{32}", oid)
    created = Opportunity.objects.get(oid=oid)
    assert (
        created.customer_id,
        created.opportunity_name,
        created.est_monthly_revenue,
        created.probability,
        created.forecast_category,
        created.expected_close_date,
    ) == (
        9001,
        "Admin-made deal",
        Decimal("2500.50"),
        20,
        ForecastCategory.PIPELINE,
        datetime.date(2025, 5, 31),
    )
    assert created.created_at is not None


def test_admin_created_opportunity_is_returned_by_the_api(data):
    """What the admin creates, GET /api/opportunities/{oid} returns with the same values."""
    client = _client_for(*EDITOR_PERMS)
    before = set(Opportunity.objects.values_list("oid", flat=True))
    client.post(reverse("admin:crm_opportunity_add"), _opportunity_post())
    (oid,) = set(Opportunity.objects.values_list("oid", flat=True)) - before

    response = client.get(reverse("api:opportunity-detail", args=[oid]))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    stored = Opportunity.objects.get(oid=oid)
    assert body == {
        "oid": oid,
        "cid": 9001,
        "customer_name": "Atelier Paris",
        "area": "France",
        "opportunity_name": "Admin-made deal",
        "product": "Accounting",
        "status": "Qualification",
        "est_monthly_revenue": "2500.50",
        "probability": 20,
        "forecast_category": "Pipeline",
        "expected_close_date": "2025-05-31",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert body["created_at"].startswith(stored.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_admin_change_goes_through_the_update_rules(data):
    """A new status without a new probability takes the status's defaults, as through the API."""
    client = _client_for(*EDITOR_PERMS)
    opp = data["paris_open"]
    url = reverse("admin:crm_opportunity_change", args=[opp.oid])
    post = _opportunity_post(
        opportunity_name=opp.opportunity_name,
        product=opp.product,
        status=Status.NEGOTIATION,
        est_monthly_revenue=str(opp.est_monthly_revenue),
        probability=str(opp.probability),
        forecast_category=opp.forecast_category,
        expected_close_date=opp.expected_close_date.isoformat(),
    )

    response = client.post(url, post)

    assert response.status_code == HTTPStatus.FOUND
    opp.refresh_from_db()
    assert (opp.status, opp.probability, opp.forecast_category) == (
        Status.NEGOTIATION,
        75,
        ForecastCategory.COMMIT,
    )


def test_admin_change_breaking_a_rule_changes_nothing(data):
    """A change that breaks a rule shows the message and leaves the stored row as it was."""
    client = _client_for(*EDITOR_PERMS)
    opp = data["berlin_open"]
    before = Opportunity.objects.filter(oid=opp.oid).values().get()
    post = _opportunity_post(
        customer="9002",
        opportunity_name=opp.opportunity_name,
        product=opp.product,
        status=Status.CLOSED_LOST,
        est_monthly_revenue=str(opp.est_monthly_revenue),
        probability="40",
        forecast_category="",
        expected_close_date=opp.expected_close_date.isoformat(),
    )

    response = client.post(reverse("admin:crm_opportunity_change", args=[opp.oid]), post)

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == {
        "probability": ["A Closed Lost opportunity must have probability 0."]
    }
    assert Opportunity.objects.filter(oid=opp.oid).values().get() == before


def test_admin_delete_removes_the_opportunity(data):
    """Deleting on the admin page removes the row (through opportunity_delete) and only that row."""
    client = _client_for(*EDITOR_PERMS)
    others = set(Opportunity.objects.exclude(oid="a" * 32).values_list("oid", flat=True))

    response = client.post(reverse("admin:crm_opportunity_delete", args=["a" * 32]), {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert set(Opportunity.objects.values_list("oid", flat=True)) == others


def test_bulk_delete_removes_only_the_selected_opportunities(data):
    """The list's "delete selected" action removes exactly the ticked opportunities."""
    client = _client_for(*EDITOR_PERMS)
    selected = ["a" * 32, "d" * 32]
    others = set(Opportunity.objects.exclude(oid__in=selected).values_list("oid", flat=True))

    response = client.post(
        reverse("admin:crm_opportunity_changelist"),
        {"action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: selected},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert set(Opportunity.objects.values_list("oid", flat=True)) == others


def _writes(queries) -> list[str]:
    """The statements among ``queries`` that change the opportunity table, even if rolled back later."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "crm_opportunities" in q["sql"]
    ]


@pytest.mark.parametrize("change", [False, True], ids=["add", "change"])
def test_admin_breaking_a_rule_shows_on_the_field_and_sends_no_write(data, change):
    """A broken rule is found before any write: its message is on the field, no INSERT or UPDATE is sent."""
    client = _client_for(*EDITOR_PERMS)
    opp = data["paris_open"]
    url = (
        reverse("admin:crm_opportunity_change", args=[opp.oid])
        if change
        else reverse("admin:crm_opportunity_add")
    )
    post = _opportunity_post(status=Status.CLOSED_WON, probability="60")
    before = list(Opportunity.objects.order_by("oid").values())

    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, post)

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == {
        "probability": ["A Closed Won opportunity must have probability 100."]
    }
    assert _writes(queries) == []
    assert list(Opportunity.objects.order_by("oid").values()) == before


@pytest.mark.parametrize("change", [False, True], ids=["add", "change"])
def test_validating_the_admin_form_writes_nothing(data, change):
    """A valid form is only checked by is_valid(): the row is written by save_model, not by validation."""
    instance = data["paris_open"] if change else Opportunity()
    form = OpportunityAdminForm(_opportunity_post(opportunity_name="Checked, not stored"), instance=instance)
    before = list(Opportunity.objects.order_by("oid").values())

    with CaptureQueriesContext(connection) as queries:
        assert form.is_valid(), form.errors

    assert _writes(queries) == []
    assert list(Opportunity.objects.order_by("oid").values()) == before


def test_admin_save_refused_after_a_concurrent_change_says_why_and_writes_nothing(data, monkeypatch):
    """When the service refuses at save what the form accepted, the page says why and nothing is stored."""
    client = _client_for(*EDITOR_PERMS)

    def create_refused_as_after_a_concurrent_delete(**values):
        # What opportunity_create answers when another user deleted the customer after the
        # form was checked (the deletion itself cannot be committed from inside this test).
        raise ValidationError(
            {"cid": [ValidationError("Customer 9001 does not exist.", code="does_not_exist")]}
        )

    monkeypatch.setattr(services, "opportunity_create", create_refused_as_after_a_concurrent_delete)
    before = list(Opportunity.objects.order_by("oid").values())
    url = reverse("admin:crm_opportunity_add")

    response = client.post(url, _opportunity_post(), follow=True)

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert [str(m) for m in response.context["messages"]] == [
        "Not saved, the data changed meanwhile: Customer 9001 does not exist."
    ]
    assert list(Opportunity.objects.order_by("oid").values()) == before


def test_add_page_offers_no_oid_or_timestamps(data):
    """oid and the timestamps are set by the service and the database, never typed in."""
    client = _client_for(*EDITOR_PERMS)
    form = client.get(reverse("admin:crm_opportunity_add")).context["adminform"].form
    assert set(form.fields) == {
        "customer",
        "opportunity_name",
        "product",
        "status",
        "est_monthly_revenue",
        "probability",
        "forecast_category",
        "expected_close_date",
    }


def test_customer_is_chosen_by_autocomplete(data):
    """The customer field is an autocomplete that finds customers by name."""
    client = _client_for(*EDITOR_PERMS, *_perms("customer", "view"))
    html = client.get(reverse("admin:crm_opportunity_add")).content.decode()
    assert "admin-autocomplete" in html
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Berl", "app_label": "crm", "model_name": "opportunity", "field_name": "customer"},
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"] == [{"id": "9002", "text": "Berlin Werk (9002)"}]


# --- Customer and revenue forms through the services ----------------------------------------


def _table(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


def _entries() -> list[tuple]:
    return list(
        Change.objects.order_by("id").values_list("entity", "key", "action", "changes", "source", "actor")
    )


def _staff(*perms: str, username: str = "ops") -> Client:
    client = Client()
    client.force_login(UserFactory(username=username, is_staff=True, permissions=list(perms)))
    return client


CUSTOMER_EDITOR = _perms("customer", "view", "add", "change")
# The read-only opportunity inline's management form, posted with every customer form.
INLINE = {
    "opportunities-TOTAL_FORMS": "0",
    "opportunities-INITIAL_FORMS": "0",
    "opportunities-MIN_NUM_FORMS": "0",
    "opportunities-MAX_NUM_FORMS": "1000",
}


def _customer_post(**overrides) -> dict:
    return {
        "cid": "9050",
        "customer_name": "Lyon Textiles",
        "area": "France",
        "account_executive": "Ines Morel",
        "technical_specialist": "",
        "industry": "",
        "contract_type": "",
        "contract_start_date": "2025-01-01",
        "contract_end_date": "2026-12-31",
        "is_active": "on",
        **INLINE,
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"cid": "0"}, {"cid": ["Must be between 1 and 2147483647."]}),
        ({"cid": "9001"}, {"cid": ["Customer 9001 already exists."]}),
        (
            {"contract_end_date": "2024-12-31"},
            {"contract_end_date": ["The contract cannot end before it starts."]},
        ),
        ({"customer_name": "Nul\x00Name"}, {"customer_name": ["Null characters are not allowed."]}),
    ],
)
def test_admin_customer_add_breaking_a_rule_shows_the_services_message(data, overrides, errors):
    """customer_validate's message on the field it names; no row and no history entry is written."""
    client = _staff(*CUSTOMER_EDITOR)
    before = _table(Customer)

    response = client.post(reverse("admin:crm_customer_add"), _customer_post(**overrides))

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == errors
    assert (_table(Customer), _entries()) == (before, [])


def test_admin_customer_add_is_created_by_the_service_and_recorded(data):
    """A valid add stores the row (texts trimmed, blanks null) and records it as created from the admin."""
    client = _staff(*CUSTOMER_EDITOR, username="ops7")

    response = client.post(
        reverse("admin:crm_customer_add"), _customer_post(customer_name="  Lyon Textiles ", industry="Retail")
    )

    assert response.status_code == HTTPStatus.FOUND
    assert Customer.objects.filter(cid=9050).values().get() == {
        "cid": 9050,
        "customer_name": "Lyon Textiles",
        "area": "France",
        "account_executive": "Ines Morel",
        "technical_specialist": None,
        "industry": "Retail",
        "contract_type": None,
        "contract_start_date": datetime.date(2025, 1, 1),
        "contract_end_date": datetime.date(2026, 12, 31),
        "is_active": True,
        "is_key_account": False,
    }
    assert _entries() == [
        (
            "customer",
            "9050",
            "created",
            {
                "customer_name": [None, "Lyon Textiles"],
                "area": [None, "France"],
                "account_executive": [None, "Ines Morel"],
                "technical_specialist": [None, None],
                "industry": [None, "Retail"],
                "contract_type": [None, None],
                "contract_start_date": [None, "2025-01-01"],
                "contract_end_date": [None, "2026-12-31"],
                "is_active": [None, True],
                "is_key_account": [None, False],
            },
            "admin",
            "ops7",
        )
    ]


def _customer_change_post(customer: Customer, **overrides) -> dict:
    stored = dict(
        customer_name=customer.customer_name,
        area=customer.area,
        account_executive=customer.account_executive or "",
        technical_specialist=customer.technical_specialist or "",
        industry=customer.industry or "",
        contract_type=customer.contract_type or "",
        contract_start_date=customer.contract_start_date.isoformat(),
        contract_end_date=customer.contract_end_date.isoformat(),
        is_active="on" if customer.is_active else "",
        is_key_account="on" if customer.is_key_account else "",
    )
    post = _customer_post(**stored | overrides)
    return {name: value for name, value in post.items() if name != "cid"}


def test_admin_customer_change_breaking_a_rule_changes_nothing(data):
    """An end date before the stored start: the message on the field, the row and the history as they were."""
    paris = data["paris"]
    client = _staff(*CUSTOMER_EDITOR)
    url = reverse("admin:crm_customer_change", args=[paris.cid])
    before = _table(Customer)
    end = paris.contract_start_date - datetime.timedelta(days=1)

    response = client.post(url, _customer_change_post(paris, contract_end_date=end.isoformat()))

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == {
        "contract_end_date": ["The contract cannot end before it starts."]
    }
    assert (_table(Customer), _entries()) == (before, [])


def test_admin_customer_change_is_written_by_the_service_and_its_cid_is_fixed(data):
    """Only the changed column is written and recorded; the cid is read-only, a posted one ignored."""
    paris = data["paris"]
    client = _staff(*CUSTOMER_EDITOR, username="ops8")
    url = reverse("admin:crm_customer_change", args=[paris.cid])
    assert 'name="cid"' not in client.get(url).content.decode()

    response = client.post(url, {**_customer_change_post(paris, area="UK"), "cid": "9999"})

    assert response.status_code == HTTPStatus.FOUND
    assert list(Customer.objects.filter(cid__in=[9001, 9999]).values_list("cid", "area")) == [(9001, "UK")]
    assert _entries() == [("customer", "9001", "updated", {"area": ["France", "UK"]}, "admin", "ops8")]


def _selected(html: str, name: str) -> list[tuple[str, str]]:
    """(value, label) of the selected options of the select ``name``."""
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)" selected>([^<]*)</option>', select)


def test_a_stored_area_outside_the_vocabulary_is_shown_and_must_be_corrected_to_save(data):
    """A customer another tool stored as "france": its page shows that value, selected, not an
    empty choice; saving it unchanged is refused on ``area`` and writes nothing; choosing an
    area saves that and the other change."""
    paris = data["paris"]
    Customer.objects.filter(cid=paris.cid).update(area="france")
    paris.refresh_from_db()
    # Rows outside the five areas are seen by a staff user of every area only (the default here).
    client = _staff(*CUSTOMER_EDITOR, username="ops9")
    url = reverse("admin:crm_customer_change", args=[paris.cid])

    page = client.get(url).content.decode()
    before = _table(Customer)
    refused = client.post(url, _customer_change_post(paris, account_executive="Lea Martin"))
    unchanged = (_table(Customer), _entries())
    saved = client.post(url, _customer_change_post(paris, account_executive="Lea Martin", area="France"))

    assert _selected(page, "area") == [("france", "france (stored, not in the vocabulary)")]
    assert refused.status_code == HTTPStatus.OK
    assert refused.context["adminform"].form.errors == {
        "area": ["Must be one of: France, Germany, Switzerland, Netherlands, UK."]
    }
    assert unchanged == (before, [])
    assert saved.status_code == HTTPStatus.FOUND
    assert Customer.objects.filter(cid=paris.cid).values_list("area", "account_executive").get() == (
        "France",
        "Lea Martin",
    )


def test_a_stored_status_outside_the_vocabulary_is_shown_selected(data):
    """An opportunity stored as "closed won": the status select shows that value, not an empty
    choice; the vocabulary's own values are offered as usual."""
    opp = data["paris_open"]
    Opportunity.objects.filter(oid=opp.oid).update(status="closed won")
    client = _client_for(*EDITOR_PERMS)

    page = client.get(reverse("admin:crm_opportunity_change", args=[opp.oid])).content.decode()

    assert _selected(page, "status") == [("closed won", "closed won (stored, not in the vocabulary)")]
    offered = re.findall(
        r'<option value="([^"]*)"', re.search(r'<select name="status".*?</select>', page, re.S)[0]
    )
    assert offered == ["", *Status.values, "closed won"]


REVENUE_ADD_CASES = [
    ("revenueactual", {"month": "2025-02-15"}, {"month": ["Must be the first day of a month."]}),
    ("revenueactual", {"revenue": "-1"}, {"revenue": ["Must be 0 or more."]}),
    ("revenueactual", {"revenue": "1.005"}, {"revenue": ["At most 2 decimal places are allowed."]}),
    (
        "revenueactual",
        {"month": "2024-08-01"},
        {"month": ["France already has an actual for 2024-08: change that row instead."]},
    ),
    ("revenuetarget", {"fiscal_year": "1900"}, {"fiscal_year": ["Must be between 1901 and 9999."]}),
    ("revenuetarget", {"target": "1e20"}, {"target": ["Must be at most 999999999999.99."]}),
    (
        "revenuetarget",
        {"fiscal_year": "2025"},
        {"fiscal_year": ["France already has a target for FY2025: change that row instead."]},
    ),
]
REVENUE_POSTS = {
    "revenueactual": {"area": "France", "month": "2025-02-01", "revenue": "1500.00"},
    "revenuetarget": {"area": "France", "fiscal_year": "2027", "target": "7000000.00"},
}


@pytest.mark.parametrize(("model_name", "overrides", "errors"), REVENUE_ADD_CASES)
def test_admin_revenue_add_breaking_a_rule_shows_the_services_message(data, model_name, overrides, errors):
    """The upsert's rules (and a key already taken) on the field they name; nothing is written."""
    client = _staff(*_perms(model_name, "view", "add"))
    before = _table(MODELS[model_name])

    response = client.post(reverse(f"admin:crm_{model_name}_add"), {**REVENUE_POSTS[model_name], **overrides})

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == errors
    assert (_table(MODELS[model_name]), _entries()) == (before, [])


def test_admin_revenue_change_writes_the_amount_through_the_upsert(data):
    """An actual's new revenue is written and recorded; its area and month are read-only."""
    actual = RevenueActual.objects.get(area=Area.GERMANY)
    client = _staff(*_perms("revenueactual", "view", "change"), username="ops9")
    url = reverse("admin:crm_revenueactual_change", args=[actual.pk])
    assert 'name="area"' not in client.get(url).content.decode()

    response = client.post(url, {"area": "UK", "month": "2030-01-01", "revenue": "3100.50"})

    assert response.status_code == HTTPStatus.FOUND
    assert RevenueActual.objects.filter(pk=actual.pk).values("area", "month", "revenue").get() == {
        "area": "Germany",
        "month": datetime.date(2024, 9, 1),
        "revenue": Decimal("3100.50"),
    }
    assert _entries() == [
        ("revenue_actual", str(actual.pk), "updated", {"revenue": ["3000.00", "3100.50"]}, "admin", "ops9")
    ]


def test_admin_revenue_change_breaking_a_rule_changes_nothing(data):
    """A negative target: the message on the field, the row and the history as they were."""
    target = RevenueTarget.objects.get(area=Area.FRANCE)
    client = _staff(*_perms("revenuetarget", "view", "change"))
    before = _table(RevenueTarget)

    response = client.post(reverse("admin:crm_revenuetarget_change", args=[target.pk]), {"target": "-5"})

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors == {"target": ["Must be 0 or more."]}
    assert (_table(RevenueTarget), _entries()) == (before, [])


def test_admin_revenue_add_of_a_key_taken_meanwhile_is_refused_at_save(data, monkeypatch):
    """When the key is taken after the form's check, the upsert would update that row: the page refuses."""
    # The form's check passes as it would have just before another user added the row.
    monkeypatch.setattr(RevenueAdminForm, "validate", lambda form: None)
    client = _staff(*_perms("revenueactual", "view", "add"))
    before = _table(RevenueActual)
    url = reverse("admin:crm_revenueactual_add")

    response = client.post(url, {"area": "France", "month": "2024-08-01", "revenue": "1.00"}, follow=True)

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert [str(m) for m in response.context["messages"]] == [
        "Not saved, the data changed meanwhile: "
        "France already has an actual for 2024-08: change that row instead."
    ]
    assert (_table(RevenueActual), _entries()) == (before, [])


# --- Workbook export -------------------------------------------------------------------------

WORKBOOK_LISTS = {
    "customer": ("customer", "Customer"),
    "opportunity": ("crm_opportunities", "CRM Opportunities"),
    "revenueactual": ("revenue_actuals", "Revenue Actuals"),
    "revenuetarget": ("revenue_targets", "Revenue Targets"),
}


def _export_workbook(client, model_name, pks=(), query="", select_across=False) -> bytes:
    post = {"action": "export_workbook", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]}
    if select_across:
        # What the page posts after "Select all N": the ticks of the page, and the whole list.
        post["select_across"] = "1"
    response = client.post(reverse(f"admin:crm_{model_name}_changelist") + query, post)
    assert response.status_code == HTTPStatus.OK
    table = WORKBOOK_LISTS[model_name][0]
    assert response["Content-Disposition"].startswith(f'attachment; filename="{table}-')
    return b"".join(response.streaming_content)


def _sheet_rows(content: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def _dry_run_import(content: bytes) -> dict:
    importer = APIClient()
    importer.force_authenticate(UserFactory(is_superuser=True))
    response = importer.post(
        reverse("api:imports"),
        {"file": SimpleUploadedFile("export.xlsx", content), "dry_run": "true"},
        format="multipart",
    )
    assert response.status_code == HTTPStatus.OK
    return response.json()


@pytest.mark.parametrize("model_name", MODELS)
def test_workbook_export_of_a_list_imports_back_as_unchanged(data, model_name):
    """Every row of a list, exported: one sheet in the import's layout that a dry run finds all unchanged."""
    model = MODELS[model_name]
    table, title = WORKBOOK_LISTS[model_name]
    client = _client_for(*_perms(model_name, "view"))

    content = _export_workbook(client, model_name, model.objects.values_list("pk", flat=True))

    sheets = _sheet_rows(content)
    assert list(sheets) == [title]
    header, *rows = sheets[title]
    assert header == tuple(f.column for f in model._meta.concrete_fields)
    assert len(rows) == model.objects.count()
    report = _dry_run_import(content)
    assert report["counts"][table] == {"created": 0, "updated": 0, "unchanged": len(rows), "error": 0}
    assert (report["status"], report["rows"], report["errors"]) == ("ok", [], [])


def test_workbook_export_has_the_selected_rows_only(data):
    """Two ticked opportunities: exactly those rows, in the table's columns."""
    client = _client_for(*_perms("opportunity", "view"))
    won = Opportunity.objects.get(oid="c" * 32)

    sheets = _sheet_rows(_export_workbook(client, "opportunity", ["c" * 32, "d" * 32]))

    assert [row[:9] for row in sheets["CRM Opportunities"][1:]] == [
        (
            "c" * 32,
            9001,
            "=HYPERLINK(evil)",  # a text cell, not a formula
            "Accounting",
            "Closed Won",
            9999,
            100,
            "Closed",
            datetime.datetime(2024, 11, 15),
        ),
        (
            "d" * 32,
            9002,
            "Time entry pilot",
            "Time Entry",
            "Negotiation",
            800,
            75,
            "Commit",
            datetime.datetime(2025, 6, 30),
        ),
    ]
    assert sheets["CRM Opportunities"][1][9] == won.created_at.isoformat()


def test_workbook_export_of_the_filtered_list(data):
    """ "Select all" on a filtered list exports every row of the filter, not only the ticked one."""
    client = _client_for(*_perms("opportunity", "view"))

    content = _export_workbook(
        client, "opportunity", ["a" * 32], query="?customer__area__exact=France", select_across=True
    )

    assert sorted(row[0] for row in _sheet_rows(content)["CRM Opportunities"][1:]) == [
        "a" * 32,
        "b" * 32,
        "c" * 32,
    ]


def test_workbook_export_needs_the_view_permission(data):
    """Without view on the list, no file."""
    client = _client_for(*_perms("opportunity", "view"))
    response = client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "export_workbook", ACTION_CHECKBOX_NAME: ["9001"]},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN


# --- CSV export ---------------------------------------------------------------------------


def _export(client, model_name, pks) -> list[list[str]]:
    response = client.post(
        reverse(f"admin:crm_{model_name}_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]},
    )
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{model_name}-')
    body = b"".join(response.streaming_content)  # streamed, a chunk of rows at a time
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_is_utf8_with_a_byte_order_mark():
    """Excel on Windows opens the file as UTF-8: the BOM comes first, and Zürich stays Zürich."""
    CustomerFactory(cid=9101, customer_name="Zürich Präzision AG", area=Area.SWITZERLAND)
    client = _client_for(*_perms("customer", "view"))
    response = client.post(
        reverse("admin:crm_customer_changelist"), {"action": "export_csv", ACTION_CHECKBOX_NAME: ["9101"]}
    )
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeffcid,".encode())
    assert "Zürich Präzision AG".encode() in body


def test_the_area_filter_shows_every_area_as_spelt():
    """The admin's area filter lists the five areas exactly as the vocabulary writes them (UK, not Uk)."""
    client = _client_for(*_perms("customer", "view"))
    html = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    for area in Area.values:
        assert f">{area}</a>" in html
    assert ">Uk</a>" not in html
    assert [choice.label for choice in Area] == Area.values


def test_customer_csv_has_the_selected_rows_with_open_totals(data):
    """Only the selected customers, every column, open-opportunity totals included; a viewer may export."""
    client = _client_for(*_perms("customer", "view"))
    paris = data["paris"]
    rows = _export(client, "customer", [9001])
    assert rows == [
        [
            "cid",
            "customer_name",
            "area",
            "account_executive",
            "technical_specialist",
            "industry",
            "contract_type",
            "contract_start_date",
            "contract_end_date",
            "is_active",
            "is_key_account",
            "open_opportunities",
            "open_monthly_revenue",
        ],
        [
            "9001",
            "Atelier Paris",
            "France",
            "Ines Morel",
            "",
            paris.industry,
            paris.contract_type,
            paris.contract_start_date.isoformat(),
            paris.contract_end_date.isoformat(),
            "True",
            "True",
            "2",
            "1500.50",
        ],
    ]


def test_opportunity_csv_neutralises_formulas(data):
    """Selected opportunities with their customer; a cell that looks like a formula is prefixed with '."""
    client = _client_for(*_perms("opportunity", "view"))
    won = data["paris_won"]
    won.refresh_from_db()
    rows = _export(client, "opportunity", ["c" * 32])
    assert rows == [
        [
            "oid",
            "customer__cid",
            "customer__customer_name",
            "customer__area",
            "opportunity_name",
            "product",
            "status",
            "est_monthly_revenue",
            "probability",
            "forecast_category",
            "expected_close_date",
            "created_at",
            "updated_at",
        ],
        [
            "c" * 32,
            "9001",
            "Atelier Paris",
            "France",
            "'=HYPERLINK(evil)",
            "Accounting",
            "Closed Won",
            "9999.00",
            "100",
            "Closed",
            "2024-11-15",
            str(won.created_at),
            str(won.updated_at),
        ],
    ]


def test_revenue_csv_exports(data):
    """Actuals and targets export their columns for the selected rows only."""
    client = _client_for(*_perms("revenueactual", "view"), *_perms("revenuetarget", "view"))
    actual = RevenueActual.objects.get(area=Area.GERMANY)
    targets = RevenueTarget.objects.filter(area=Area.GERMANY).order_by("fiscal_year")
    assert _export(client, "revenueactual", [actual.pk]) == [
        ["id", "area", "month", "revenue"],
        [str(actual.pk), "Germany", "2024-09-01", "3000.00"],
    ]
    assert _export(client, "revenuetarget", [t.pk for t in targets]) == [
        ["id", "area", "fiscal_year", "target"],
        [str(targets[0].pk), "Germany", "2025", "6000000.00"],
        [str(targets[1].pk), "Germany", "2026", "6500000.00"],
    ]


def test_export_without_view_permission_is_refused(data):
    """The export is an action of the list: no view permission, no list, no file."""
    client = _client_for(*_perms("opportunity", "view"))
    response = client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: ["9001"]},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN


# --- Query counts -------------------------------------------------------------------------


def _grow(model_name: str, size: int) -> None:
    for i in range(size):
        customer = CustomerFactory(area=Area.values[i % len(Area.values)])
        OpportunityFactory(customer=customer, status=Status.PROPOSAL)
        OpportunityFactory(customer=customer, status=Status.CLOSED_LOST)
    if model_name == "revenueactual":
        for i in range(size):
            RevenueActualFactory(
                area=Area.values[i % 5], month=datetime.date(2020 + i // 5 // 12, i // 5 % 12 + 1, 1)
            )
    if model_name == "revenuetarget":
        for i in range(size):
            RevenueTargetFactory(area=Area.values[i % 5], fiscal_year=2000 + i // 5)


# Session, user, the user's and its groups' permissions, the filtered and the full count,
# the rows; plus one per filter listing values found in the data (the two account-team
# filters; the fiscal years) and two for a date hierarchy (its bounds and its months). The
# opportunities count once (no full count), read the first and last close date for their
# fiscal-year filter, and their rows' customers by key. Permissions come from the access
# cache (crm/scopes.py): one query for them where there were two.
LIST_QUERY_COUNTS = {"customer": 8, "opportunity": 8, "revenueactual": 9, "revenuetarget": 7}


@pytest.mark.parametrize("size", [2, 30])
@pytest.mark.parametrize("model_name", MODELS)
def test_list_query_count_does_not_grow_with_rows(model_name, size, django_assert_num_queries):
    """Every list page runs the same number of queries for 2 rows as for 30."""
    _grow(model_name, size)
    client = _client_for(*_perms(model_name, "view", "change"))
    url = reverse(f"admin:crm_{model_name}_changelist")
    with django_assert_num_queries(LIST_QUERY_COUNTS[model_name]):
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count >= size


def test_customer_page_query_count_does_not_grow_with_opportunities(django_assert_num_queries):
    """A customer page runs the same number of queries with 2 opportunities as with 30."""
    client = _client_for(*_perms("customer", "view", "change"), *_perms("opportunity", "view"))
    for size in (2, 30):
        customer = CustomerFactory()
        OpportunityFactory.create_batch(size, customer=customer)
        # Session, user, the customer, how many opportunities it has, the first of them and
        # their customer (by key); the permissions come from the access cache (crm/scopes.py):
        # one query for the first size, none once warm (the second size adds its rows).
        with django_assert_num_queries(7 if size == 2 else 6):
            response = client.get(reverse("admin:crm_customer_change", args=[customer.cid]))
        assert response.content.decode().count('class="field-opportunity_name"') >= size


# --- The opportunity list at any size --------------------------------------------------------


def _opportunity_list(client: Client, query: str = ""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:crm_opportunity_changelist") + query)
    assert response.status_code == HTTPStatus.OK
    return response, queries


def test_opportunity_pages_show_the_rows_in_order_with_their_customers_at_a_fixed_cost(data):
    """Pages of 100 over 254 deals: each row with its own customer, in close-date order, page
    after page; the first page asks what the fixture's one page of four asks, a later one a
    query more (the rows it skips are read by their oids alone, then its rows by key)."""
    # given
    client = _client_for(*_perms("opportunity", "view"))
    _opportunity_list(client)  # the user's access read once, then cached (crm/scopes.py)
    _, small = _opportunity_list(client)
    customers = CustomerFactory.create_batch(25, area=Area.UK)
    for i in range(250):
        day = datetime.date(2024, 7, 1) + datetime.timedelta(days=i % 90)
        OpportunityFactory(customer=customers[i % 25], expected_close_date=day)
    # when
    pages = [_opportunity_list(client, f"?p={number}") for number in (1, 2, 3)]
    # then
    shown = [
        (row.oid, row.customer.customer_name)
        for response, _ in pages
        for row in response.context["cl"].result_list
    ]
    ordered = Opportunity.objects.order_by("expected_close_date", "oid")
    assert shown == list(ordered.values_list("oid", "customer__customer_name"))
    assert [len(queries) for _, queries in pages] == [len(small), len(small) + 1, len(small) + 1]


def test_the_opportunity_list_is_not_sorted_by_a_customer_column(data):
    """The customer and area columns have no sort link: sorting by them joins and sorts the
    whole table; the opportunity's own columns keep theirs."""
    response, _ = _opportunity_list(_client_for(*_perms("opportunity", "view")))
    headers = {
        column: "sortable" in classes
        for classes, column in re.findall(
            r'<th scope="col" class="([^"]*)column-(\w+)', response.content.decode()
        )
    }
    assert headers["customer_name"] is False and headers["customer_area"] is False
    assert headers["opportunity_name"] is True and headers["expected_close_date"] is True


def _fiscal_years(response) -> list[str]:
    (spec,) = [
        s
        for s in response.context["cl"].filter_specs
        if getattr(s, "parameter_name", "") == "close_fiscal_year"
    ]
    return [label for _, label in spec.lookup_choices]


def test_the_close_date_fiscal_year_filter_offers_the_years_of_the_users_rows(data):
    """Close dates from 2024-11-15 to 2025-06-30 are FY2025; a Swiss deal closing 2026-07-01 adds
    FY2027 and the FY2026 between, for a user of every area, not for one granted France only.
    Each year filters July to June."""
    # given
    swiss = CustomerFactory(area=Area.SWITZERLAND)
    OpportunityFactory(customer=swiss, expected_close_date=datetime.date(2026, 7, 1))
    every_area = _client_for(*_perms("opportunity", "view"))
    france = Client()
    france.force_login(
        UserFactory(is_staff=True, permissions=_perms("opportunity", "view"), areas=["France"])
    )
    # when
    everything, _ = _opportunity_list(every_area)
    french, _ = _opportunity_list(france)
    by_year = {
        year: _opportunity_list(every_area, f"?close_fiscal_year={year}")[0] for year in (2025, 2026, 2027)
    }
    # then
    assert _fiscal_years(everything) == ["FY2027", "FY2026", "FY2025"]
    assert _fiscal_years(french) == ["FY2025"]
    assert {year: response.context["cl"].result_count for year, response in by_year.items()} == {
        2025: 4,
        2026: 0,
        2027: 1,
    }


@pytest.mark.mysql
def test_the_opportunity_page_keeps_the_opportunities_first_on_mysql(data):
    """For a staff user of one area the page joins the customers (for the area) with
    STRAIGHT_JOIN, so MySQL walks the close-date index instead of sorting every opportunity;
    for a user of every area the page reads opportunities alone."""
    # given
    france = Client()
    france.force_login(
        UserFactory(is_staff=True, permissions=_perms("opportunity", "view"), areas=["France"])
    )
    every_area = _client_for(*_perms("opportunity", "view"))
    # when
    pages = {}
    for who, client in (("france", france), ("every area", every_area)):
        _, queries = _opportunity_list(client)
        (page,) = [
            q["sql"] for q in queries if "`crm_opportunities`.`opportunity_name`" in q["sql"].split("FROM")[0]
        ]
        pages[who] = page
    # then
    assert pages["france"].startswith("SELECT STRAIGHT_JOIN")
    assert "JOIN" not in pages["every area"]


@pytest.mark.mysql
def test_a_search_reads_the_opportunities_alone_by_a_scan_on_mysql(data):
    """A search matches customer names in the customer table (no join) and reads the matching
    deals by a scan, not the close-date index walk that a word few rows have sends to the end of
    the table; the rows are the ones the search names."""
    # given
    client = _client_for(*_perms("opportunity", "view"))
    # when
    response, queries = _opportunity_list(client, "?q=Berlin")
    # then
    (page,) = [
        q["sql"] for q in queries if "`crm_opportunities`.`opportunity_name`" in q["sql"].split("FROM")[0]
    ]
    assert "IGNORE INDEX FOR ORDER BY (`idx_opportunities_expected_close_date`)" in page
    assert "JOIN" not in page
    assert [row.oid for row in response.context["cl"].result_list] == ["d" * 32]


def test_a_customer_page_shows_its_first_opportunities_and_links_to_all(data):
    """A customer with 55 deals: its page shows the first 50 by close date and says how many
    there are, linking to the opportunity list of that customer, which has all 55; a customer
    with fewer deals than that gets no such line."""
    # given
    big = CustomerFactory(area=Area.UK)
    for i in range(55):
        OpportunityFactory(
            customer=big, expected_close_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=i)
        )
    client = _client_for(*_perms("customer", "view"), *_perms("opportunity", "view"))
    # when
    page = client.get(reverse("admin:crm_customer_change", args=[big.cid])).content.decode()
    small = client.get(reverse("admin:crm_customer_change", args=[data["paris"].cid])).content.decode()
    link = re.search(r'<p class="help crm-inline-more">(.*?)<a href="([^"]+)">(.*?)</a>', page, re.S)
    listed = client.get(link[2]).context["cl"]
    # then
    first = Opportunity.objects.filter(customer=big).order_by("expected_close_date", "oid")[:50]
    names = re.findall(r'<td class="field-opportunity_name">\s*<p>([^<]+)</p>', page)
    assert [html.unescape(name) for name in names] == [o.opportunity_name for o in first]
    assert " ".join(link[1].split()) == "The first 50 of 55 opportunities, by close date:"
    assert link[3] == "all 55 in the opportunity list"
    assert listed.result_count == 55
    assert "crm-inline-more" not in small


@pytest.mark.mysql
def test_one_customers_opportunities_are_read_by_the_cid_index_on_mysql(data):
    """The customer page's opportunities and the opportunity list of one customer name the cid
    index, as the API's pages of one customer do (crm.sql._one_customer)."""
    # given
    client = _client_for(*_perms("customer", "view"), *_perms("opportunity", "view"))
    customer_page = reverse("admin:crm_customer_change", args=[data["paris"].cid])
    one_customer_list = reverse("admin:crm_opportunity_changelist") + f"?customer__exact={data['paris'].cid}"
    # when
    reads = []
    for url in (customer_page, one_customer_list):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == HTTPStatus.OK
        reads += [
            q["sql"] for q in queries if "`crm_opportunities`.`opportunity_name`" in q["sql"].split("FROM")[0]
        ]
    # then
    assert len(reads) == 2
    assert all("FORCE INDEX (`idx_opportunities_cid`)" in sql for sql in reads)


def test_a_csv_export_of_more_rows_than_a_chunk_has_each_row_once_in_list_order(data, monkeypatch):
    """The export streams its rows a chunk at a time, walking the list's order: with chunks of
    3 rows, 10 deals come out each once, in close-date order, with their customers' columns,
    read by 4 queries; and so they do in an order no index has (by revenue, one query streamed)."""
    # given
    monkeypatch.setattr("crm.admin.walk_chunks", functools.partial(rendering.walk_chunks, chunk_rows=3))
    monkeypatch.setattr("crm.admin.row_chunks", functools.partial(rendering.row_chunks, chunk_rows=3))
    for i in range(6):
        OpportunityFactory(customer=data["berlin"], expected_close_date=datetime.date(2025, 4, 1 + i))
    client = _client_for(*_perms("opportunity", "view"))
    url = reverse("admin:crm_opportunity_changelist")
    select_all = {
        "action": "export_csv",
        "select_across": "1",
        "index": "0",
        ACTION_CHECKBOX_NAME: ["a" * 32],
    }

    def oids_and_customers(response) -> list[list[str]]:
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        return [row[:3] for row in csv.reader(io.StringIO(body))][1:]

    # when
    with mock.patch.object(rendering, "_fetch", wraps=rendering._fetch) as fetches:
        by_close_date = oids_and_customers(client.post(url, select_all))
    by_revenue = oids_and_customers(client.post(url + "?o=6", select_all))
    # then
    in_list_order = Opportunity.objects.order_by("expected_close_date", "oid")
    assert by_close_date == [[o.oid, str(o.customer_id), o.customer.customer_name] for o in in_list_order]
    assert fetches.call_count == 4  # 3 + 3 + 3 + 1
    by_revenue_order = Opportunity.objects.order_by("est_monthly_revenue", "-oid")
    assert by_revenue == [[o.oid, str(o.customer_id), o.customer.customer_name] for o in by_revenue_order]


@pytest.mark.parametrize(
    ("action", "limit", "kind"),
    [("export_csv", "csv_max_rows", "CSV file"), ("export_workbook", "workbook_max_rows", "workbook")],
)
def test_an_export_of_more_rows_than_its_limit_is_refused_and_says_why(
    data, monkeypatch, action, limit, kind
):
    """With a limit of 3 rows, exporting the 4 deals answers no file: the list again, with a
    message naming the count, the limit and the way to export everything; 3 deals export."""
    # given
    monkeypatch.setattr(OpportunityAdmin, limit, 3)
    client = _client_for(*_perms("opportunity", "view"))
    url = reverse("admin:crm_opportunity_changelist")
    select_all = {"action": action, "select_across": "1", "index": "0", ACTION_CHECKBOX_NAME: ["a" * 32]}
    three = {"action": action, ACTION_CHECKBOX_NAME: ["a" * 32, "b" * 32, "c" * 32]}
    # when
    refused = client.post(url, select_all, follow=True)
    allowed = client.post(url, three)
    # then
    assert refused.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert [str(m) for m in refused.context["messages"]] == [
        f"Not exported: 4 rows selected, and a {kind} from this page holds at most 3. "
        "Narrow the list with its filters, or export everything with manage.py export_workbook."
    ]
    assert allowed.status_code == HTTPStatus.OK
    assert allowed["Content-Disposition"].startswith("attachment;")
