"""The unpaged opportunity list is streamed from one query; its rows equal OpportunitySerializer's."""

import datetime
from decimal import Decimal
from http import HTTPStatus

import orjson
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Opportunity
from crm.rendering import stream_rows, stream_walk
from crm.scopes import AreaScope
from crm.selectors import opportunity_list
from crm.serializers import (
    OPPORTUNITY_COLUMNS,
    OpportunitySerializer,
    opportunity_rows_to_dicts,
    opportunity_rows_to_json,
    opportunity_to_dict,
)
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:opportunity-list")


@pytest.fixture
def reader() -> APIClient:
    user = UserFactory(permissions=["crm.view_opportunity", "crm.view_customer"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def varied():
    """Rows that exercise every conversion: legacy vocabulary, nulls, whole and odd amounts."""
    legacy = CustomerFactory(cid=9, area="Benelux", customer_name="Ørsted 🚀")
    CustomerFactory(cid=3, area="UK")
    rows = [
        OpportunityFactory(customer=legacy, status="closed won", probability=None, forecast_category=None),
        OpportunityFactory(customer_id=3, est_monthly_revenue=Decimal("1200.00")),
        OpportunityFactory(
            customer_id=3, est_monthly_revenue=Decimal("0.05"), expected_close_date=datetime.date(2024, 2, 29)
        ),
    ]
    # One timestamp with no fraction of a second: DRF then writes none either.
    Opportunity.objects.filter(oid=rows[1].oid).update(
        created_at=datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    )
    return rows


def _serialized() -> list[dict]:
    return [dict(row) for row in OpportunitySerializer(opportunity_list(scope=AreaScope.ALL), many=True).data]


@pytest.mark.parametrize("chunk_rows", [1, 2, 250])
def test_streamed_rows_equal_the_serializer_across_chunks(varied, chunk_rows):
    """Whatever the chunk size, the chunks join into exactly the serializer's JSON."""
    body = b"".join(
        stream_rows(
            opportunity_list(scope=AreaScope.ALL),
            OPPORTUNITY_COLUMNS,
            opportunity_rows_to_dicts,
            chunk_rows=chunk_rows,
        )
    )
    assert orjson.loads(body) == _serialized()


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 250])
def test_a_walk_in_index_order_equals_the_serializer_across_chunks(varied, chunk_rows):
    """Keyset chunks of any size (ties on the close date included) join into the serializer's JSON."""
    OpportunityFactory.create_batch(4, customer_id=3, expected_close_date=datetime.date(2025, 5, 5))
    chunks = stream_walk(
        opportunity_list(scope=AreaScope.ALL),
        OPPORTUNITY_COLUMNS,
        opportunity_rows_to_dicts,
        chunk_rows=chunk_rows,
    )
    assert orjson.loads(b"".join(chunks)) == _serialized()


def _driver_row(created_at: datetime.datetime, revenue: str) -> tuple:
    # A row as MySQL's driver hands it over: Decimal, naive UTC datetimes, a date.
    return (
        "a" * 32, 9, "Ørsted 🚀", "Benelux", "Zürich \u2028 rollout", "Payroll", "closed won",
        Decimal(revenue), None, None, datetime.date(2024, 2, 29), created_at,
        datetime.datetime(2025, 1, 2, 3, 4, 5, 7),
    )  # fmt: skip


@pytest.mark.parametrize("chunk_rows", [1, 2, 250])
def test_the_fast_encoding_equals_the_row_function(varied, chunk_rows):
    """opportunity_rows_to_json gives the row function's JSON: for the driver's native types
    (timestamps with and without a fraction, whole and odd amounts) and for whatever this
    backend hands over, in chunks of any size."""
    rows = [
        _driver_row(datetime.datetime(2025, 1, 2, 3, 4, 5), "1200.00"),
        _driver_row(datetime.datetime(2024, 12, 31, 23, 59, 59, 999999), "0.05"),
    ]
    assert orjson.loads(opportunity_rows_to_json(rows)) == opportunity_rows_to_dicts(rows)
    assert opportunity_rows_to_dicts(rows)[0]["created_at"] == "2025-01-02T03:04:05Z"
    assert opportunity_rows_to_json([]) == b"[]"
    body = b"".join(
        stream_walk(
            opportunity_list(scope=AreaScope.ALL),
            OPPORTUNITY_COLUMNS,
            opportunity_rows_to_dicts,
            chunk_rows=chunk_rows,
            rows_to_json=opportunity_rows_to_json,
        )
    )
    assert orjson.loads(body) == _serialized()


def test_the_list_in_an_order_no_index_has_streams_too(reader, varied):
    """ordering=customer_name: one query streamed as it arrives (read before the next query); same JSON."""
    response = reader.get(LIST_URL, {"ordering": "customer_name"})
    assert response.streaming
    body = response.json()
    expected = OpportunitySerializer(
        opportunity_list(scope=AreaScope.ALL, filters={"ordering": "customer_name"}), many=True
    ).data
    assert body == [dict(row) for row in expected]


def test_another_request_may_run_before_a_stream_is_read(reader, varied):
    """The walk leaves nothing pending on the connection: a second request answers meanwhile."""
    streamed = reader.get(LIST_URL)
    assert (
        reader.get(reverse("api:opportunity-detail", kwargs={"oid": varied[0].oid})).status_code
        == HTTPStatus.OK
    )
    assert orjson.loads(b"".join(streamed.streaming_content)) == _serialized()


def test_the_plain_mapping_equals_the_serializer_for_one_opportunity(varied):
    """The detail and write answers use a plain mapping: the same JSON as the serializer."""
    for opportunity in opportunity_list(scope=AreaScope.ALL):
        assert orjson.loads(orjson.dumps(opportunity_to_dict(opportunity))) == dict(
            OpportunitySerializer(opportunity).data
        )


def test_the_list_streams_in_one_query(reader, varied, django_assert_num_queries):
    """GET /api/opportunities is a streamed JSON array: one list query after authentication."""
    with django_assert_num_queries(3):  # the token, the access entry, the list
        response = reader.get(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert orjson.loads(b"".join(response.streaming_content)) == _serialized()


def test_a_list_that_cannot_match_is_an_empty_array(reader, varied):
    """A filter that matches nothing streams []."""
    response = reader.get(LIST_URL, {"cid": 4242})
    assert response.json() == []


def test_the_browsable_api_keeps_the_serializer(reader, varied):
    """format=api renders an HTML page, not the stream."""
    response = reader.get(LIST_URL, {"format": "api"})
    assert response.status_code == HTTPStatus.OK
    assert not response.streaming
