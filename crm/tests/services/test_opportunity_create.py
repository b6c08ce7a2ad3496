"""opportunity_create: every rule accepted and refused; one transaction; three queries."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from crm.choices import ForecastCategory, Product, Status
from crm.models import Customer, Opportunity
from crm.services import opportunities as opportunity_services
from crm.services import opportunity_create
from crm.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CLOSE = datetime.date(2025, 3, 31)


@pytest.fixture
def customer():
    return CustomerFactory(customer_name="Société Générale", area="France")


def _valid(customer, **overrides) -> dict:
    values = {
        "cid": customer.cid,
        "opportunity_name": "Payroll roll-out",
        "product": Product.PAYROLL,
        "status": Status.PROPOSAL,
        "est_monthly_revenue": Decimal("1234.50"),
        "expected_close_date": CLOSE,
    }
    values.update(overrides)
    return values


def _errors(excinfo) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in excinfo.value.error_dict.items()}


def _statements(captured) -> list[str]:
    # The test runs inside a transaction, so the service's atomic block adds a SAVEPOINT and
    # its RELEASE; at the top level of a request they are BEGIN/COMMIT, which are not queries.
    return [
        query["sql"].split()[0].upper()
        for query in captured
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _database_now():
    return Customer.objects.annotate(now=Now()).values_list("now", flat=True).first()


def test_create_stores_the_row_with_timestamps_from_the_database_clock(customer):
    """A valid create inserts one row with a uuid4 hex oid, timestamps from the database clock
    (created and updated alike), returned as stored."""
    # given
    assert Opportunity.objects.count() == 0
    before = _database_now()
    # when
    opportunity = opportunity_create(**_valid(customer, opportunity_name="  Payroll roll-out  "))
    # then
    assert before <= opportunity.created_at == opportunity.updated_at <= _database_now()
    assert re.fullmatch(r"[0-9a-f]{32}", opportunity.oid)
    stored = Opportunity.objects.get()
    assert stored.oid == opportunity.oid
    assert (stored.customer_id, stored.opportunity_name, stored.product, stored.status) == (
        customer.cid,
        "Payroll roll-out",
        "Payroll",
        "Proposal",
    )
    assert (stored.est_monthly_revenue, stored.probability, stored.forecast_category) == (
        Decimal("1234.50"),
        50,
        "Best Case",
    )
    assert stored.expected_close_date == CLOSE
    assert opportunity.created_at == stored.created_at is not None
    assert opportunity.updated_at == stored.updated_at is not None
    # The customer read by the check comes with it, for the API representation: no further query.
    assert opportunity.customer.customer_name == "Société Générale"


def test_create_takes_three_queries(customer):
    """The customer with the database clock, INSERT, history INSERT: three, whatever the data;
    nothing is read back."""
    with CaptureQueriesContext(connection) as captured:
        opportunity_create(**_valid(customer))
    assert _statements(captured.captured_queries) == ["SELECT", "INSERT", "INSERT"]


@pytest.mark.parametrize(
    ("status", "probability", "forecast_category"),
    [
        (Status.PROSPECTING, 10, ForecastCategory.PIPELINE),
        (Status.QUALIFICATION, 20, ForecastCategory.PIPELINE),
        (Status.PROPOSAL, 50, ForecastCategory.BEST_CASE),
        (Status.NEGOTIATION, 75, ForecastCategory.COMMIT),
        (Status.CLOSED_WON, 100, ForecastCategory.CLOSED),
        (Status.CLOSED_LOST, 0, ForecastCategory.OMITTED),
    ],
)
def test_omitted_probability_and_category_take_the_status_defaults(
    customer, status, probability, forecast_category
):
    """Without probability and forecast_category, each status gets its documented defaults."""
    opportunity = opportunity_create(**_valid(customer, status=status))
    assert (opportunity.probability, opportunity.forecast_category) == (probability, forecast_category)


@pytest.mark.parametrize(
    "overrides",
    [
        {"probability": 35, "forecast_category": ForecastCategory.COMMIT},
        {"probability": 0},
        {"probability": 100},
        {"status": Status.CLOSED_WON, "probability": 100, "forecast_category": ForecastCategory.CLOSED},
        {"status": Status.CLOSED_LOST, "probability": 0, "forecast_category": ForecastCategory.OMITTED},
        {"est_monthly_revenue": Decimal("0.01")},
        {"est_monthly_revenue": Decimal("9999999999.99")},
        {"est_monthly_revenue": 5000},
        {"opportunity_name": "x"},
        {"opportunity_name": "é" * 255},
        {"opportunity_name": "  " + "a" * 255 + "  "},
        {"product": Product.TIME_ENTRY},
    ],
)
def test_values_inside_the_rules_are_accepted(customer, overrides):
    """Boundary values of every rule are stored as given."""
    opportunity = opportunity_create(**_valid(customer, **overrides))
    stored = Opportunity.objects.get(oid=opportunity.oid)
    for field, value in overrides.items():
        expected = value.strip() if isinstance(value, str) and field == "opportunity_name" else value
        assert getattr(stored, field) == expected


def test_trailing_zeros_beyond_two_places_are_not_a_third_decimal(customer):
    """1.500 is 1.50: only digits that would be lost count as extra decimal places."""
    opportunity = opportunity_create(**_valid(customer, est_monthly_revenue=Decimal("1.500")))
    assert opportunity.est_monthly_revenue == Decimal("1.50")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"cid": 987654}, "cid", "does_not_exist"),
        ({"cid": 2**40}, "cid", "does_not_exist"),
        ({"cid": True}, "cid", "invalid"),
        ({"cid": "12"}, "cid", "invalid"),
        ({"opportunity_name": ""}, "opportunity_name", "blank"),
        ({"opportunity_name": "   "}, "opportunity_name", "blank"),
        ({"opportunity_name": "a" * 256}, "opportunity_name", "max_length"),
        ({"opportunity_name": 42}, "opportunity_name", "invalid"),
        ({"opportunity_name": "a\x00b"}, "opportunity_name", "null_characters_not_allowed"),
        ({"product": "Consulting"}, "product", "invalid_choice"),
        ({"product": "payroll"}, "product", "invalid_choice"),
        ({"status": "Won"}, "status", "invalid_choice"),
        ({"forecast_category": "Maybe"}, "forecast_category", "invalid_choice"),
        ({"est_monthly_revenue": Decimal("0")}, "est_monthly_revenue", "min_value"),
        ({"est_monthly_revenue": Decimal("-5")}, "est_monthly_revenue", "min_value"),
        ({"est_monthly_revenue": Decimal("10000000000.00")}, "est_monthly_revenue", "max_value"),
        ({"est_monthly_revenue": Decimal("1.234")}, "est_monthly_revenue", "max_decimal_places"),
        ({"est_monthly_revenue": Decimal("NaN")}, "est_monthly_revenue", "invalid"),
        ({"est_monthly_revenue": Decimal("Infinity")}, "est_monthly_revenue", "invalid"),
        ({"est_monthly_revenue": True}, "est_monthly_revenue", "invalid"),
        ({"est_monthly_revenue": 12.5}, "est_monthly_revenue", "invalid"),
        ({"probability": -1}, "probability", "out_of_range"),
        ({"probability": 101}, "probability", "out_of_range"),
        ({"probability": True}, "probability", "invalid"),
        ({"status": Status.CLOSED_WON, "probability": 90}, "probability", "inconsistent_with_status"),
        ({"status": Status.CLOSED_LOST, "probability": 10}, "probability", "inconsistent_with_status"),
        (
            {"status": Status.CLOSED_WON, "forecast_category": ForecastCategory.COMMIT},
            "forecast_category",
            "inconsistent_with_status",
        ),
        (
            {"status": Status.PROPOSAL, "forecast_category": ForecastCategory.CLOSED},
            "forecast_category",
            "inconsistent_with_status",
        ),
        (
            {"status": Status.CLOSED_LOST, "forecast_category": ForecastCategory.PIPELINE},
            "forecast_category",
            "inconsistent_with_status",
        ),
        (
            {"status": Status.CLOSED_LOST, "forecast_category": ForecastCategory.CLOSED},
            "forecast_category",
            "inconsistent_with_status",
        ),
        ({"expected_close_date": "2025-03-31"}, "expected_close_date", "invalid"),
        (
            {"expected_close_date": datetime.datetime(2025, 3, 31, tzinfo=datetime.UTC)},
            "expected_close_date",
            "invalid",
        ),
    ],
)
def test_each_broken_rule_names_its_field_and_creates_nothing(customer, overrides, field, code):
    """A broken rule raises ValidationError({field: [...]}) with its code; no row is written."""
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(**_valid(customer, **overrides))
    assert _errors(excinfo) == {field: [code]}
    assert Opportunity.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("product", "Consulting", "Accounting, Time Entry, Payroll, Expenses"),
        ("status", "Won", "Prospecting, Qualification, Proposal, Negotiation, Closed Won, Closed Lost"),
        ("forecast_category", "Maybe", "Pipeline, Best Case, Commit, Closed, Omitted"),
    ],
)
def test_vocabulary_errors_list_the_allowed_values(customer, field, value, allowed):
    """The message of a value outside the vocabulary names every allowed value."""
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(**_valid(customer, **{field: value}))
    assert excinfo.value.message_dict == {field: [f"Must be one of: {allowed}."]}


def test_all_broken_rules_are_reported_at_once(customer):
    """Several bad fields give one error per field, not one round trip per mistake."""
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(
            **_valid(customer, cid=987654, opportunity_name=" ", product="X", est_monthly_revenue=Decimal(0))
        )
    assert _errors(excinfo) == {
        "cid": ["does_not_exist"],
        "opportunity_name": ["blank"],
        "product": ["invalid_choice"],
        "est_monthly_revenue": ["min_value"],
    }


@pytest.mark.parametrize(
    "name", ["Zürich Lohnbuchhaltung", "Société Générale \u2013 Paie", "Ørsted ✓ 🚀", "東京 給与"]
)
def test_non_ascii_names_round_trip_intact(customer, name):
    """Accents, symbols, CJK and emoji (4-byte UTF-8) are stored and read back unchanged."""
    opportunity = opportunity_create(**_valid(customer, opportunity_name=name))
    assert Opportunity.objects.get(oid=opportunity.oid).opportunity_name == name


def test_a_failure_after_the_insert_leaves_nothing(customer, monkeypatch):
    """If anything fails after the INSERT (its history entry), the transaction rolls the row back."""

    def fail(**kwargs):
        raise RuntimeError("history entry failed")

    monkeypatch.setattr(opportunity_services, "change_record", fail)
    with pytest.raises(RuntimeError):
        opportunity_create(**_valid(customer))
    assert Opportunity.objects.count() == 0


@pytest.mark.mysql
def test_a_customer_deleted_between_check_and_insert_is_a_cid_error(customer, monkeypatch):
    """The foreign key's IntegrityError on INSERT becomes ValidationError on cid, never a 500.

    MySQL checks the key at the INSERT. (On SQLite the key check is deferred to COMMIT, but the
    file lock taken by the check keeps any other connection from deleting the customer.)
    """
    # given: the customer is deleted right after the rules were checked
    real_validate = opportunity_services._validated

    def validate_then_delete(**kwargs):
        checked = real_validate(**kwargs)
        Customer.objects.filter(cid=customer.cid).delete()
        return checked

    monkeypatch.setattr(opportunity_services, "_validated", validate_then_delete)
    # when
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(**_valid(customer))
    # then
    assert excinfo.value.message_dict == {"cid": [f"Customer {customer.cid} does not exist."]}
    assert Opportunity.objects.count() == 0


def test_an_integrity_error_other_than_the_customer_key_is_not_blamed_on_cid(customer, monkeypatch):
    """A duplicate oid (a uuid4 collision) is a server fault: IntegrityError, not a cid error."""
    taken = opportunity_create(**_valid(customer)).oid
    monkeypatch.setattr(opportunity_services.uuid, "uuid4", lambda: uuid.UUID(taken))
    # atomic: the test's own transaction stays usable after the failed INSERT.
    with pytest.raises(IntegrityError), transaction.atomic():
        opportunity_create(**_valid(customer, opportunity_name="Second"))
    assert list(Opportunity.objects.values_list("oid", flat=True)) == [taken]
