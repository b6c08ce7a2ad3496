"""GET /api/customers/{cid}/opportunities."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Status
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(perms) -> APIClient:
    user = UserFactory(permissions=perms)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _url(cid) -> str:
    return reverse("api:customer-opportunities", kwargs={"cid": cid})


@pytest.fixture
def reader():
    return _client(["crm.view_opportunity", "crm.view_customer"])


def test_lists_only_that_customers_opportunities_in_two_queries(reader, django_assert_num_queries):
    """The customer's opportunities, in close-date order; customer lookup + list after auth."""
    customer = CustomerFactory(customer_name="Ørsted", area="Netherlands")
    mine = [OpportunityFactory(customer=customer), OpportunityFactory(customer=customer)]
    OpportunityFactory()
    # token, the access entry (one query, then cached), the customer, the list
    with django_assert_num_queries(4):
        response = reader.get(_url(customer.cid))
    assert response.status_code == HTTPStatus.OK
    expected = sorted(mine, key=lambda o: (o.expected_close_date, o.oid))
    assert [row["oid"] for row in response.json()] == [o.oid for o in expected]
    assert {(row["cid"], row["customer_name"], row["area"]) for row in response.json()} == {
        (customer.cid, "Ørsted", "Netherlands")
    }


def test_filters_and_paging_apply(reader):
    """status filters within the customer; limit pages."""
    customer = CustomerFactory()
    won = OpportunityFactory(customer=customer, status=Status.CLOSED_WON)
    OpportunityFactory(customer=customer, status=Status.PROSPECTING)
    filtered = reader.get(_url(customer.cid) + "?status=Closed Won")
    assert [row["oid"] for row in filtered.json()] == [won.oid]
    paged = reader.get(_url(customer.cid) + "/?limit=1")
    assert (paged.json()["count"], len(paged.json()["results"])) == (2, 1)


def test_a_customer_without_opportunities_is_an_empty_array(reader):
    """An existing customer with no deals: 200 and []."""
    assert reader.get(_url(CustomerFactory().cid)).json() == []


@pytest.mark.parametrize("cid", [999999, -1, -5, 2**31, 10**12])
def test_an_unknown_customer_is_404(reader, cid):
    """A cid that does not exist (or cannot) answers 404 in the error shape."""
    response = reader.get(_url(cid))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "No customer with this cid.", "attr": None}],
    }


@pytest.mark.parametrize(
    ("perms", "expected"),
    [
        ([], HTTPStatus.FORBIDDEN),
        (["crm.view_opportunity"], HTTPStatus.FORBIDDEN),
        (["crm.view_customer"], HTTPStatus.FORBIDDEN),
        (["crm.view_opportunity", "crm.view_customer"], HTTPStatus.OK),
    ],
)
def test_needs_both_view_permissions(perms, expected):
    """Reading a customer's deals needs view_opportunity and view_customer."""
    customer = CustomerFactory()
    assert _client(perms).get(_url(customer.cid)).status_code == expected


@pytest.mark.parametrize("cid", [-5, 2**31 - 1, -(2**31)])
def test_the_customer_and_its_opportunities_agree_on_every_id(reader, cid):
    """Any id the INT column can hold, negative too, is found by both customer URLs alike."""
    customer = CustomerFactory(cid=cid)
    OpportunityFactory(customer=customer)
    assert reader.get(reverse("api:customer-detail", kwargs={"cid": cid})).status_code == HTTPStatus.OK
    response = reader.get(_url(cid))
    assert response.status_code == HTTPStatus.OK
    assert [row["cid"] for row in response.json()] == [cid]


@pytest.mark.parametrize("cid", [-5, 2**31, -(2**31) - 1])
def test_an_id_no_customer_has_is_404_on_both_customer_urls(reader, cid):
    """/api/customers/{cid} and /api/customers/{cid}/opportunities answer 404 alike."""
    CustomerFactory(cid=5)
    assert reader.get(reverse("api:customer-detail", kwargs={"cid": cid})).status_code == HTTPStatus.NOT_FOUND
    assert reader.get(_url(cid)).status_code == HTTPStatus.NOT_FOUND


def test_bad_paging_and_bad_filters_are_named_together(reader):
    """limit=0 and status=Nope: one 400 names both parameters."""
    response = reader.get(_url(CustomerFactory().cid), {"limit": "0", "status": "Nope"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert sorted(error["attr"] for error in response.json()["errors"]) == ["limit", "status"]


def test_anonymous_is_401(api_client):
    """No credentials: 401."""
    assert api_client.get(_url(CustomerFactory().cid)).status_code == HTTPStatus.UNAUTHORIZED
