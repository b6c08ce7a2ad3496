"""The Django admin: permissions, filters, the service-backed opportunity form, CSV export, query counts."""

import csv
import datetime
import io
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.admin import OpportunityAdminForm
from crm.choices import Area, ForecastCategory, Product, Status
from crm.models import Customer, Opportunity, RevenueActual, RevenueTarget

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
        ("expected_close_date__year=2025&expected_close_date__month=3", 2),
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


# --- CSV export ---------------------------------------------------------------------------


def _export(client, model_name, pks) -> list[list[str]]:
    response = client.post(
        reverse(f"admin:crm_{model_name}_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]},
    )
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{model_name}-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_is_utf8_with_a_byte_order_mark():
    """Excel on Windows opens the file as UTF-8: the BOM comes first, and Zürich stays Zürich."""
    CustomerFactory(cid=9101, customer_name="Zürich Präzision AG", area=Area.SWITZERLAND)
    client = _client_for(*_perms("customer", "view"))
    response = client.post(
        reverse("admin:crm_customer_changelist"), {"action": "export_csv", ACTION_CHECKBOX_NAME: ["9101"]}
    )
    assert response.content.startswith("\ufeffcid,".encode())
    assert "Zürich Präzision AG".encode() in response.content


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
# filters; the fiscal years) and two for a date hierarchy (its bounds and its months).
LIST_QUERY_COUNTS = {"customer": 9, "opportunity": 9, "revenueactual": 10, "revenuetarget": 8}


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
        # Session, user, the customer, permissions (user's and groups'), its opportunities.
        with django_assert_num_queries(6):
            response = client.get(reverse("admin:crm_customer_change", args=[customer.cid]))
        assert response.content.decode().count('class="field-opportunity_name"') >= size
