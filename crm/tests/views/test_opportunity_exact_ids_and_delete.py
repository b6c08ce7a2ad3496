"""One oid, one row: no aliases through the collation; DELETE honours If-Match under the row lock.

An oid is 32 lower-case hex digits (crm.ids.is_oid), compared exactly. MySQL's CHAR comparison
ignores case, accents and trailing spaces, so without the exact check ``<oid>%20`` or an
accented letter reached the same row for GET, PATCH and DELETE.
"""

import threading
import time
from http import HTTPStatus

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Status
from crm.models import Opportunity
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

EDITOR_PERMS = [
    "crm.view_opportunity",
    "crm.view_customer",
    "crm.add_opportunity",
    "crm.change_opportunity",
    "crm.delete_opportunity",
]
OID = "5b0d2c61f1d04c7c9a0f3e8e2b7d4a19"


def _client() -> APIClient:
    client = APIClient()
    user = UserFactory(permissions=EDITOR_PERMS)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _detail(oid: str) -> str:
    return f"/api/opportunities/{oid}"


@pytest.fixture
def opportunity():
    return OpportunityFactory(oid=OID, customer=CustomerFactory(cid=4242), status=Status.PROPOSAL)


ALIASES = {
    "a trailing %00": OID + "%00",
    "a trailing %20": OID + "%20",
    "a trailing no-break space": OID + "%C2%A0",
    "a trailing zero-width space": OID + "%E2%80%8B",
    # The first "b" (U+0062) as U+1E03, b with a dot above.
    "one letter accented": OID[:1] + "%E1%B8%83" + OID[2:],
    "upper case (not folded)": OID.upper(),
}


@pytest.mark.mysql
@pytest.mark.parametrize("alias", ALIASES)
def test_an_oid_that_only_looks_like_a_stored_one_is_404_on_every_method(opportunity, alias):
    """The exact oid reaches the row; padded, accented or upper-cased variants are 404 and change nothing."""
    # given
    client = _client()
    assert client.get(_detail(OID)).status_code == HTTPStatus.OK
    before = Opportunity.objects.get(oid=OID)
    url = _detail(ALIASES[alias])
    # when
    responses = [
        client.get(url),
        client.patch(url, {"probability": 60}, format="json"),
        client.delete(url),
    ]
    # then
    for response in responses:
        assert response.status_code == HTTPStatus.NOT_FOUND, (alias, response.content)
        assert response.json()["errors"][0]["detail"] == "No opportunity with this oid."
    after = Opportunity.objects.get(oid=OID)
    assert (after.probability, after.updated_at) == (before.probability, before.updated_at)


@pytest.mark.parametrize("oid", [OID.upper(), OID[:-1], OID + "0", "g" * 32, OID[:-1] + " "])
def test_a_malformed_oid_is_404_without_reading_the_table(opportunity, oid):
    """Anything but 32 lower-case hex digits is refused before crm_opportunities is queried."""
    client = _client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_detail(oid))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not [q["sql"] for q in queries.captured_queries if "crm_opportunities" in q["sql"]]


@pytest.mark.mysql
def test_a_legacy_oid_in_capitals_is_not_reached_through_the_lower_case_spelling():
    """A row another tool stored as upper-case hex is not served under a lower-case oid (no alias)."""
    OpportunityFactory(oid=OID.upper(), customer=CustomerFactory(cid=4243))
    assert _client().get(_detail(OID)).status_code == HTTPStatus.NOT_FOUND


# --- DELETE and If-Match ------------------------------------------------------------------


def test_a_delete_with_a_stale_etag_is_412_and_the_opportunity_stays(opportunity):
    """After a PATCH changed the version, DELETE with the old ETag is refused; with the new one it works."""
    # given
    client = _client()
    old = client.get(_detail(OID))["ETag"]
    new = client.patch(_detail(OID), {"probability": 60}, format="json", HTTP_IF_MATCH=old)["ETag"]
    assert new != old
    # when
    stale = client.delete(_detail(OID), HTTP_IF_MATCH=old)
    # then
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    assert stale.json()["errors"][0]["code"] == "precondition_failed"
    assert Opportunity.objects.filter(oid=OID).exists()
    assert client.delete(_detail(OID), HTTP_IF_MATCH=new).status_code == HTTPStatus.NO_CONTENT
    assert not Opportunity.objects.filter(oid=OID).exists()


def test_a_delete_without_if_match_or_with_a_star_proceeds(opportunity):
    """If-Match is optional, as for PATCH: absent or `*`, the delete goes ahead."""
    assert _client().delete(_detail(OID), HTTP_IF_MATCH="*").status_code == HTTPStatus.NO_CONTENT
    assert not Opportunity.objects.filter(oid=OID).exists()


@pytest.fixture
def committed_opportunity(transactional_db):
    """A committed opportunity for tests with real transactions; removed afterwards."""
    customer = CustomerFactory(cid=777003, customer_name="Parallel SA", area="France")
    opportunity = OpportunityFactory(customer=customer, status=Status.PROPOSAL)
    yield opportunity
    Opportunity.objects.filter(customer_id=customer.cid).delete()
    customer.delete()


def _statements_waiting_on(table: str) -> int:
    """Statements of this test database's other connections that are running against ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE %s",
            [connection.settings_dict["NAME"], f"%`{table}`%"],
        )
        return cursor.fetchone()[0]


@pytest.mark.mysql
def test_ten_parallel_deletes_of_one_opportunity_give_exactly_one_204(committed_opportunity):
    """Ten editors delete the same row at once: one 204, nine 404; the row is gone.

    The test holds the row's lock until all ten requests are inside the database waiting for
    it, so every one of them has read the row before any delete can run: the race is certain.
    """
    clients = [_client() for _ in range(10)]
    results = {}

    def delete(index: int):
        try:
            results[index] = clients[index].delete(_detail(committed_opportunity.oid))
        finally:
            connection.close()

    threads = [threading.Thread(target=delete, args=(i,)) for i in range(len(clients))]
    with transaction.atomic():
        Opportunity.objects.select_for_update().get(oid=committed_opportunity.oid)
        for thread in threads:
            thread.start()
        # Wait (a guard, not a measurement) until the ten are blocked on the lock held here.
        deadline = time.monotonic() + 60
        while _statements_waiting_on("crm_opportunities") < len(clients) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _statements_waiting_on("crm_opportunities") == len(clients)
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [HTTPStatus.NO_CONTENT] + [HTTPStatus.NOT_FOUND] * 9
    assert not Opportunity.objects.filter(oid=committed_opportunity.oid).exists()


# --- One cid on a customer's opportunities -------------------------------------------------


def test_a_customers_opportunities_take_no_cid_parameter():
    """The customer is the path's cid; `?cid=` is an unknown parameter (400), not a silent empty list."""
    customer = CustomerFactory(cid=1001)
    OpportunityFactory(customer=customer)
    response = _client().get(reverse("api:customer-opportunities", args=[1001]), {"cid": "1001"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "unknown_parameter", "detail": "Unknown query parameter 'cid'.", "attr": "cid"}],
    }
