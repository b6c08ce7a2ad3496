"""customer_create/_update and the revenue upserts: the rules, and only what changes is written."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crm.models import Customer, RevenueActual, RevenueTarget
from crm.services import (
    customer_create,
    customer_update,
    customer_validate,
    revenue_actual_upsert,
    revenue_target_upsert,
)
from crm.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict:
    return {field: [e.code for e in errors] for field, errors in exc.value.error_dict.items()}


def test_customer_create_trims_and_stores_defaults():
    """A new customer: names trimmed, blank optional text is NULL, booleans default."""
    customer = customer_create(cid=4242, customer_name="  Acme SA ", area="France", industry="  ")
    stored = Customer.objects.filter(cid=4242).values(
        "customer_name", "industry", "is_active", "is_key_account"
    )
    assert stored.get() == {
        "customer_name": "Acme SA",
        "industry": None,
        "is_active": True,
        "is_key_account": False,
    }
    assert customer.cid == 4242


def test_customer_rules_are_reported_at_once_and_nothing_is_written():
    """Every broken rule in one ValidationError, by field; the table is unchanged."""
    with pytest.raises(ValidationError) as exc:
        customer_create(
            cid=0,
            customer_name=" ",
            area="Spain",
            contract_start_date=datetime.date(2025, 1, 1),
            contract_end_date=datetime.date(2024, 1, 1),
            is_active="yes",
        )
    assert _codes(exc) == {
        "cid": ["out_of_range"],
        "customer_name": ["blank"],
        "area": ["invalid_choice"],
        "contract_end_date": ["end_before_start"],
        "is_active": ["invalid"],
    }
    assert not Customer.objects.filter(cid=0).exists()


def test_customer_create_refuses_an_existing_cid():
    """cid is the key: creating it twice is a 400-style error on cid, not an overwrite."""
    CustomerFactory(cid=4243, customer_name="First")
    with pytest.raises(ValidationError) as exc:
        customer_create(cid=4243, customer_name="Second", area="UK")
    assert _codes(exc) == {"cid": ["unique"]}
    assert Customer.objects.get(cid=4243).customer_name == "First"


def test_customer_update_checks_the_whole_record_and_writes_the_change():
    """An update is checked as a whole record (dates against the stored start) and stored."""
    customer = CustomerFactory(
        cid=4244, contract_start_date=datetime.date(2024, 1, 1), contract_end_date=None
    )
    with pytest.raises(ValidationError) as exc:
        customer_update(customer=customer, contract_end_date=datetime.date(2023, 12, 31))
    assert _codes(exc) == {"contract_end_date": ["end_before_start"]}
    updated = customer_update(customer=customer, customer_name="Renamed", is_key_account=True)
    stored = (
        Customer.objects.filter(cid=4244).values("customer_name", "is_key_account", "contract_end_date").get()
    )
    assert stored == {"customer_name": "Renamed", "is_key_account": True, "contract_end_date": None}
    assert updated.customer_name == "Renamed"
    with pytest.raises(TypeError):
        customer_update(customer=customer, cid=1)


def test_customer_validate_is_pure(django_assert_num_queries):
    """The rule check reads nothing: it runs without a query and fills the defaults."""
    with django_assert_num_queries(0):
        values = customer_validate(cid=1, customer_name="X", area="UK")
    assert (values["is_active"], values["is_key_account"]) == (True, False)


def test_revenue_actual_upsert_creates_updates_and_leaves_alone():
    """(area, month) is the key: created, then updated, then unchanged; bad months are refused."""
    month = datetime.date(2024, 9, 1)
    assert revenue_actual_upsert(area="UK", month=month, revenue=Decimal("10"))[1] == "created"
    assert revenue_actual_upsert(area="UK", month=month, revenue=Decimal("12.50"))[1] == "updated"
    assert revenue_actual_upsert(area="UK", month=month, revenue=Decimal("12.5"))[1] == "unchanged"
    assert list(RevenueActual.objects.values_list("area", "month", "revenue")) == [
        ("UK", month, Decimal("12.50"))
    ]
    with pytest.raises(ValidationError) as exc:
        revenue_actual_upsert(area="uk", month=datetime.date(2024, 9, 2), revenue=Decimal("1.234"))
    assert _codes(exc) == {
        "area": ["invalid_choice"],
        "month": ["not_first_of_month"],
        "revenue": ["max_decimal_places"],
    }


def test_revenue_target_upsert_checks_year_and_amount():
    """(area, fiscal_year) is the key; the year must be a fiscal year, the amount fit DECIMAL(14,2)."""
    assert revenue_target_upsert(area="France", fiscal_year=2027, target=Decimal("5"))[1] == "created"
    with pytest.raises(ValidationError) as exc:
        revenue_target_upsert(area="France", fiscal_year=99999, target=Decimal("1000000000000"))
    assert _codes(exc) == {"fiscal_year": ["out_of_range"], "target": ["max_value"]}
    assert list(RevenueTarget.objects.values_list("fiscal_year", "target")) == [(2027, Decimal("5.00"))]
