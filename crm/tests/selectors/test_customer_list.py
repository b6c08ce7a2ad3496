"""customer_list / customer_get, and the fast JSON encoding of the customer list."""

import datetime

import orjson
import pytest
from django.core.exceptions import ValidationError

from crm.models import Customer
from crm.rendering import encode_rows
from crm.scopes import AreaScope
from crm.selectors import customer_get, customer_list
from crm.serializers import CUSTOMER_FIELDS, CustomerSerializer, customer_rows_to_dicts
from crm.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _cids(queryset) -> list[int]:
    return list(queryset.values_list("cid", flat=True))


@pytest.fixture
def customers():
    return [
        CustomerFactory(cid=3, customer_name="Rhein Maschinenbau GmbH", area="Germany", is_key_account=True),
        CustomerFactory(cid=1, customer_name="Garonne Distribution SA", area="France", is_active=False),
        CustomerFactory(cid=2, customer_name="Aare Informatik GmbH", area="Switzerland"),
    ]


def test_without_filters_every_customer_by_cid(customers):
    """No filters: all customers, ordered by cid."""
    assert _cids(customer_list(scope=AreaScope.ALL)) == [1, 2, 3]
    assert _cids(customer_list(scope=AreaScope.ALL, filters={})) == [1, 2, 3]


def test_filters_are_query_parameters(customers):
    """The selector takes the query parameters as they come (strings) and applies them together."""
    assert _cids(
        customer_list(scope=AreaScope.ALL, filters={"search": "gmbh", "is_key_account": "true"})
    ) == [3]
    assert _cids(customer_list(scope=AreaScope.ALL, filters={"ordering": "-customer_name"})) == [3, 1, 2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", [2, 3]), ("TRUE", [2, 3]), ("1", [2, 3]), ("false", [1]), ("False", [1]), ("0", [1])],
)
def test_booleans_accept_true_false_1_0_in_any_case(customers, value, expected):
    """is_active accepts true/false/1/0, case-insensitively."""
    assert _cids(customer_list(scope=AreaScope.ALL, filters={"is_active": value})) == expected


def test_ordering_ties_are_broken_by_cid(customers):
    """Two customers in the same area keep cid order, ascending or descending area."""
    CustomerFactory(cid=4, area="Germany")
    assert _cids(customer_list(scope=AreaScope.ALL, filters={"ordering": "area"})) == [1, 3, 4, 2]
    assert _cids(customer_list(scope=AreaScope.ALL, filters={"ordering": "-area"})) == [2, 3, 4, 1]


def test_paging_parameters_pass_through_the_filterset(customers):
    """limit, offset and format belong to the view; the FilterSet lets them through untouched."""
    assert _cids(
        customer_list(scope=AreaScope.ALL, filters={"limit": "1", "offset": "1", "format": "json"})
    ) == [1, 2, 3]


def test_bad_filters_raise_a_validation_error_per_parameter(customers):
    """Each bad parameter is named with its code; the caller turns this into a 400."""
    with pytest.raises(ValidationError) as caught:
        customer_list(
            scope=AreaScope.ALL,
            filters={"area": "Atlantis", "is_active": "perhaps", "ordering": "secret", "colour": "red"},
        )
    codes = {field: [e.code for e in errors] for field, errors in caught.value.error_dict.items()}
    assert codes == {
        "area": ["invalid_choice"],
        "is_active": ["invalid"],
        "ordering": ["invalid_choice"],
        "colour": ["unknown_parameter"],
    }


def test_customer_get_finds_one_or_none(customers):
    """customer_get returns the customer, or None for an id that is absent or out of range."""
    assert customer_get(scope=AreaScope.ALL, cid=2) == customers[2]
    assert customer_get(scope=AreaScope.ALL, cid=99) is None
    assert customer_get(scope=AreaScope.ALL, cid=-1) is None
    assert customer_get(scope=AreaScope.ALL, cid=2**63) is None


# --- Fast encoding ------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 250])
def test_encoded_rows_equal_the_serializer_across_chunk_boundaries(chunk_rows):
    """Whatever the chunk size, the bytes decode to exactly CustomerSerializer's output."""
    CustomerFactory(cid=1, is_active=False, is_key_account=True)
    CustomerFactory(cid=2, contract_start_date=None, contract_end_date=None, account_executive=None)
    CustomerFactory(
        cid=3, area="Benelux", customer_name="Ørsted 🚀", contract_start_date=datetime.date(2024, 2, 29)
    )
    queryset = customer_list(scope=AreaScope.ALL)

    body = encode_rows(queryset, CUSTOMER_FIELDS, customer_rows_to_dicts, chunk_rows=chunk_rows)

    assert orjson.loads(body) == CustomerSerializer(queryset, many=True).data
    assert orjson.loads(body)[2]["contract_start_date"] == "2024-02-29"


def test_no_rows_encode_as_an_empty_array(django_assert_num_queries):
    """An empty table is [] after one query; a query that cannot match is [] without any."""
    with django_assert_num_queries(1):
        assert (
            encode_rows(customer_list(scope=AreaScope.ALL), CUSTOMER_FIELDS, customer_rows_to_dicts) == b"[]"
        )
    with django_assert_num_queries(0):
        assert (
            encode_rows(Customer.objects.filter(cid__in=[]), CUSTOMER_FIELDS, customer_rows_to_dicts) == b"[]"
        )


def test_encoding_takes_one_query(django_assert_num_queries):
    """Many chunks, still one query."""
    Customer.objects.bulk_create(
        [Customer(cid=cid, customer_name=f"C{cid}", area="UK") for cid in range(1, 30)]
    )
    with django_assert_num_queries(1):
        body = encode_rows(
            customer_list(scope=AreaScope.ALL), CUSTOMER_FIELDS, customer_rows_to_dicts, chunk_rows=4
        )
    assert [row["cid"] for row in orjson.loads(body)] == list(range(1, 30))
