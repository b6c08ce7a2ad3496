"""The strict filter sets: only the filters a query names are built, every parameter is still checked."""

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from crm.choices import Area, Status
from crm.filters import OpportunityFilter
from crm.models import Opportunity
from crm.scopes import AreaScope
from crm.selectors import opportunity_list
from crm.tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_a_query_builds_only_the_filters_it_names():
    """A page without filters costs no filter: the set holds the named ones, the form their fields."""
    unfiltered = OpportunityFilter(
        QueryDict("page_size=50"), queryset=Opportunity.objects.all(), named_only=True
    )
    assert unfiltered.is_valid()
    assert unfiltered.filters == {}
    assert list(unfiltered.form.fields) == []

    filtered = OpportunityFilter(
        QueryDict("status=Proposal&area=France"), queryset=Opportunity.objects.all(), named_only=True
    )
    assert filtered.is_valid()
    assert set(filtered.filters) == {"status", "area"}
    assert set(filtered.form.fields) == {"status", "area"}

    # As DRF's filter backend builds it (for the schema's error components): every filter.
    documented = OpportunityFilter(QueryDict(), queryset=Opportunity.objects.all())
    assert set(documented.form.fields) == set(OpportunityFilter.base_filters)


def test_every_declared_filter_still_counts_as_known_and_repeats_are_refused():
    """Unknown and repeated parameters are named whether or not other filters are given."""
    filterset = OpportunityFilter(
        QueryDict("aera=France&cid=1&cid=2&status=Proposal&status=Negotiation"),
        queryset=Opportunity.objects.all(),
        named_only=True,
    )
    assert not filterset.is_valid()
    errors = filterset.errors.as_data()
    assert {name: [error.code for error in found] for name, found in errors.items()} == {
        "aera": ["unknown_parameter"],
        "cid": ["repeated_parameter"],
    }


def test_filters_given_in_any_combination_select_the_same_rows_as_the_conditions():
    """Each combination of filters answers the rows that meet all of them, and nothing else."""
    france, uk = CustomerFactory(area=Area.FRANCE), CustomerFactory(area=Area.UK)
    proposal_fr = OpportunityFactory(customer=france, status=Status.PROPOSAL)
    negotiation_fr = OpportunityFactory(customer=france, status=Status.NEGOTIATION)
    proposal_uk = OpportunityFactory(customer=uk, status=Status.PROPOSAL)

    def oids(query: str) -> set[int]:
        return {o.oid for o in opportunity_list(filters=QueryDict(query), scope=AreaScope.ALL)}

    assert oids("") == {proposal_fr.oid, negotiation_fr.oid, proposal_uk.oid}
    assert oids("area=France") == {proposal_fr.oid, negotiation_fr.oid}
    assert oids("status=Proposal") == {proposal_fr.oid, proposal_uk.oid}
    assert oids("area=France&status=Proposal") == {proposal_fr.oid}
    assert oids(f"cid={uk.cid}&status=Negotiation") == set()
    with pytest.raises(ValidationError) as raised:
        oids("status=Proposal&cid=x")
    assert set(raised.value.error_dict) == {"cid"}
