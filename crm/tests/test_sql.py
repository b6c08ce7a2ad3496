"""crm.sql.CompiledLookup: a lookup by key compiled once, answering what the ORM answers."""

import datetime

import pytest
from django.db.models.functions import Now

from crm.models import Customer
from crm.scopes import AreaScope
from crm.sql import CompiledLookup
from crm.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _in(scope: AreaScope):
    return lambda key: Customer.objects.filter(scope.customer_q(), cid=key).annotate(database_now=Now())


def test_a_compiled_lookup_builds_the_instance_the_orm_builds(django_assert_num_queries):
    """Every field with the ORM's types, the annotation, a saved instance; one query per call."""
    # given
    customer = CustomerFactory(area="France")
    expected = Customer.objects.get(cid=customer.cid)
    lookup = CompiledLookup(Customer)
    lookup.get("all", _in(AreaScope.ALL), customer.cid, placeholders=(1, 2))  # compiles
    # when
    with django_assert_num_queries(1):
        found = lookup.get("all", _in(AreaScope.ALL), customer.cid, placeholders=(1, 2))
    # then
    assert _fields(found) == _fields(expected)
    assert [type(getattr(found, name)) for name in _fields(found)] == [
        type(getattr(expected, name)) for name in _fields(expected)
    ]
    assert isinstance(found.database_now, datetime.datetime)
    assert found._state.adding is False and found._state.db == "default"


def test_each_shape_keeps_its_own_sql_and_a_key_outside_it_is_none(django_assert_num_queries):
    """A scope is part of the shape: a customer outside it is None; no area granted asks nothing."""
    # given
    french, british = CustomerFactory(area="France"), CustomerFactory(area="UK")
    france = AreaScope.of(["France"])
    lookup = CompiledLookup(Customer)
    # when / then
    assert lookup.get("France", _in(france), french.cid, placeholders=(1, 2)).cid == french.cid
    assert lookup.get("France", _in(france), british.cid, placeholders=(1, 2)) is None
    assert lookup.get("all", _in(AreaScope.ALL), british.cid, placeholders=(1, 2)).cid == british.cid
    assert lookup.get("France", _in(france), 999_999, placeholders=(1, 2)) is None
    lookup.get("none", _in(AreaScope.NONE), french.cid, placeholders=(1, 2))
    with django_assert_num_queries(0):
        assert lookup.get("none", _in(AreaScope.NONE), french.cid, placeholders=(1, 2)) is None


def test_a_lookup_whose_key_is_not_last_runs_the_orm_and_answers_alike():
    """With the key before another parameter the SQL is not kept, and each call still answers right."""
    # given: the key, then the area
    customer = CustomerFactory(area="Germany")
    lookup = CompiledLookup(Customer)

    def build(key):
        return Customer.objects.filter(cid=key).filter(area__exactly_in=["Germany"])

    # when
    found = [lookup.get("key first", build, key, placeholders=(1, 2)) for key in (customer.cid, 999_999)]
    # then
    assert lookup._plans[next(iter(lookup._plans))]["key first"] is None
    assert [getattr(instance, "cid", None) for instance in found] == [customer.cid, None]
