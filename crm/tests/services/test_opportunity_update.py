"""opportunity_update and opportunity_delete: rules on the resulting record; only changed columns written."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from crm.choices import ForecastCategory, Status
from crm.models import Customer, Opportunity
from crm.services import OpportunityChanged, opportunity_delete, opportunity_update, opportunity_version
from crm.tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def opportunity():
    return OpportunityFactory(
        status=Status.PROPOSAL,
        probability=35,
        forecast_category=ForecastCategory.BEST_CASE,
        est_monthly_revenue=Decimal("2500.00"),
        opportunity_name="Expenses pilot",
    )


def _row(oid: str) -> dict:
    return Opportunity.objects.filter(oid=oid).values().get()


def test_update_writes_only_the_changed_column_and_touches_updated_at(opportunity):
    """A name change leaves every other column as stored, even one changed by someone else meanwhile."""
    # given: another writer changed the revenue after our copy was read
    Opportunity.objects.filter(oid=opportunity.oid).update(
        est_monthly_revenue=Decimal("9999.00"), updated_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    )
    before = _row(opportunity.oid)
    # when
    updated = opportunity_update(opportunity=opportunity, opportunity_name="  Expenses roll-out ")
    # then
    after = _row(opportunity.oid)
    assert after == {**before, "opportunity_name": "Expenses roll-out", "updated_at": after["updated_at"]}
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]
    assert updated.opportunity_name == "Expenses roll-out"
    assert updated.est_monthly_revenue == Decimal("9999.00")
    assert updated.updated_at == after["updated_at"]


def test_a_new_status_takes_its_defaults_unless_given(opportunity):
    """Moving to Negotiation resets probability/category to its defaults; explicit values win."""
    updated = opportunity_update(opportunity=opportunity, status=Status.NEGOTIATION)
    assert (updated.status, updated.probability, updated.forecast_category) == ("Negotiation", 75, "Commit")
    updated = opportunity_update(opportunity=updated, status=Status.PROPOSAL, probability=40)
    assert (updated.probability, updated.forecast_category) == (40, "Best Case")


def test_same_status_keeps_the_stored_probability(opportunity):
    """Changing another field keeps a probability that differs from the status default."""
    updated = opportunity_update(
        opportunity=opportunity, status=Status.PROPOSAL, expected_close_date=datetime.date(2026, 1, 31)
    )
    assert (updated.probability, updated.expected_close_date) == (35, datetime.date(2026, 1, 31))


def test_closing_as_won_sets_100_and_closed(opportunity):
    """Closed Won without probability/category takes 100 and Closed."""
    updated = opportunity_update(opportunity=opportunity, status=Status.CLOSED_WON)
    assert (updated.probability, updated.forecast_category) == (100, "Closed")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"status": Status.CLOSED_WON, "probability": 80}, "probability", "inconsistent_with_status"),
        ({"forecast_category": ForecastCategory.CLOSED}, "forecast_category", "inconsistent_with_status"),
        ({"opportunity_name": " "}, "opportunity_name", "blank"),
        ({"est_monthly_revenue": Decimal("0.001")}, "est_monthly_revenue", "max_decimal_places"),
        ({"cid": 987654}, "cid", "does_not_exist"),
        ({"product": "Consulting"}, "product", "invalid_choice"),
    ],
)
def test_the_rules_apply_to_the_resulting_record_and_nothing_changes(opportunity, changes, field, code):
    """A change that would break a rule is refused with the field named; the row stays as it was."""
    before = _row(opportunity.oid)
    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=opportunity, **changes)
    assert {f: [e.code for e in errs] for f, errs in excinfo.value.error_dict.items()} == {field: [code]}
    assert _row(opportunity.oid) == before


def test_probability_changed_on_a_closed_won_deal_is_refused():
    """The stored status counts: a Closed Won deal cannot drop to 90 %."""
    won = OpportunityFactory(status=Status.CLOSED_WON)
    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=won, probability=90)
    assert excinfo.value.message_dict == {
        "probability": ["A Closed Won opportunity must have probability 100."]
    }


def test_moving_to_another_existing_customer(opportunity):
    """cid may change to an existing customer; the read-back carries the new customer."""
    other = CustomerFactory(customer_name="Ørsted Nederland", area="Netherlands")
    updated = opportunity_update(opportunity=opportunity, cid=other.cid)
    assert (updated.customer_id, updated.customer.customer_name, updated.customer.area) == (
        other.cid,
        "Ørsted Nederland",
        "Netherlands",
    )


def test_a_stale_version_changes_nothing(opportunity):
    """With expected_versions that no longer match the stored row, OpportunityChanged and no write."""
    # given: a version read, then a change by someone else
    seen = opportunity_version(Opportunity.objects.get(oid=opportunity.oid))
    opportunity_update(opportunity=opportunity, opportunity_name="Changed by someone else")
    before = _row(opportunity.oid)
    # when / then
    with pytest.raises(OpportunityChanged):
        opportunity_update(opportunity=opportunity, expected_versions=[seen], probability=60)
    assert _row(opportunity.oid) == before


def test_the_current_version_lets_the_update_through(opportunity):
    """The version just read matches, and the update changes the version."""
    seen = opportunity_version(Opportunity.objects.get(oid=opportunity.oid))
    updated = opportunity_update(opportunity=opportunity, expected_versions=[seen], probability=60)
    assert updated.probability == 60
    assert opportunity_version(updated) != seen


def test_unknown_fields_are_a_programming_error(opportunity):
    """A key that is not a writable column raises TypeError, like an unknown keyword argument."""
    with pytest.raises(TypeError, match="oid"):
        opportunity_update(opportunity=opportunity, oid="x" * 32)


def test_a_legacy_row_outside_the_vocabulary_must_be_fixed_to_be_updated():
    """A row written by another tool with status "Won" cannot keep it through an update."""
    legacy = OpportunityFactory(status=Status.PROPOSAL)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_opportunities SET status = %s WHERE oid = %s", ["Won", legacy.oid])
    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=legacy, opportunity_name="Renamed")
    assert list(excinfo.value.message_dict) == ["status"]
    updated = opportunity_update(opportunity=legacy, opportunity_name="Renamed", status=Status.CLOSED_WON)
    assert (updated.status, updated.probability, updated.forecast_category) == ("Closed Won", 100, "Closed")


def test_a_stored_null_probability_is_filled_from_the_status_default():
    """NULL probability/category (imported rows) become the status defaults on the next update."""
    imported = OpportunityFactory(status=Status.QUALIFICATION, probability=None, forecast_category=None)
    updated = opportunity_update(opportunity=imported, opportunity_name="Qualified lead")
    assert (updated.probability, updated.forecast_category) == (20, "Pipeline")


def test_delete_removes_only_that_opportunity(opportunity):
    """opportunity_delete removes the row; other opportunities and the customer stay."""
    other = OpportunityFactory()
    opportunity_delete(opportunity=opportunity)
    assert list(Opportunity.objects.values_list("oid", flat=True)) == [other.oid]
    assert Customer.objects.filter(cid=opportunity.customer_id).exists()
