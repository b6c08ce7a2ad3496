"""POST /api/opportunities with Idempotency-Key: replay, mismatch, in progress, the concurrent race."""

import threading
from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Customer, IdempotencyKey, Opportunity
from crm.services import idempotency as idempotency_services
from crm.services import idempotency_key_claim, idempotency_request_fingerprint
from crm.tests.factories import CustomerFactory, UserFactory

EDITOR_PERMS = ["crm.view_opportunity", "crm.add_opportunity"]
LIST_URL = reverse("api:opportunity-list")


def _editor() -> tuple[APIClient, object]:
    user = UserFactory(permissions=EDITOR_PERMS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client, user


def _body(cid: int, **overrides) -> dict:
    return {
        "cid": cid,
        "opportunity_name": "Zeiterfassung Zürich",
        "product": "Time Entry",
        "status": "Qualification",
        "est_monthly_revenue": 800,
        "expected_close_date": "2025-05-31",
        **overrides,
    }


@pytest.mark.django_db
def test_a_retry_with_the_same_key_and_body_replays_the_first_response():
    """Same key, same body: the same status and bytes, marked as replayed; one row, one key."""
    client, _ = _editor()
    customer = CustomerFactory()
    first = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="create-42")
    retry = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="create-42")
    assert first.status_code == retry.status_code == HTTPStatus.CREATED
    assert retry.content == first.content
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Opportunity.objects.count() == 1
    assert IdempotencyKey.objects.get().state == "completed"


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_422_and_creates_nothing():
    """A reused key with another body is refused; the first opportunity stays the only one."""
    client, _ = _editor()
    customer = CustomerFactory()
    client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="create-42")
    response = client.post(
        LIST_URL,
        _body(customer.cid, est_monthly_revenue=900),
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-42",
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "unprocessable",
                "detail": "This Idempotency-Key was already used with a different request.",
                "attr": None,
            }
        ],
    }
    assert Opportunity.objects.count() == 1


@pytest.mark.django_db
def test_a_retry_while_the_first_request_runs_is_409():
    """A key claimed by a request still running: 409, nothing created."""
    client, user = _editor()
    customer = CustomerFactory()
    body = _body(customer.cid)
    # given: the first request has claimed the key and is still working
    fingerprint = idempotency_request_fingerprint(method="POST", path=LIST_URL, body=body)
    idempotency_key_claim(user=user, key="create-42", fingerprint=fingerprint)
    # when
    response = client.post(LIST_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-42")
    # then
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["errors"][0]["code"] == "conflict"
    assert Opportunity.objects.count() == 0


@pytest.mark.django_db
def test_keys_are_per_user():
    """Two users may use the same key: two opportunities."""
    customer = CustomerFactory()
    for client, _ in (_editor(), _editor()):
        response = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="same")
        assert response.status_code == HTTPStatus.CREATED
    assert Opportunity.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_request_is_not_remembered():
    """A 400 under a key leaves no key behind: the corrected retry with that key creates the row."""
    client, _ = _editor()
    customer = CustomerFactory()
    bad = client.post(LIST_URL, _body(999999), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert IdempotencyKey.objects.count() == 0
    good = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_a_blank_or_too_long_key_is_a_400(key):
    """The header must be 1 to 255 characters: otherwise a 400 naming it, nothing created."""
    client, _ = _editor()
    customer = CustomerFactory()
    response = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [e["attr"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert Opportunity.objects.count() == 0


@pytest.mark.django_db
def test_a_key_of_255_characters_is_accepted():
    """The longest allowed key works and replays."""
    client, _ = _editor()
    customer = CustomerFactory()
    key = "k" * 255
    first = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, retry.content) == (HTTPStatus.CREATED, first.content)


@pytest.mark.django_db
def test_a_keyed_create_takes_a_fixed_number_of_queries(django_assert_num_queries):
    """Auth (2: the token, the access entry), claim, the customer with the database clock, INSERT,
    history INSERT, key completion (nothing read back); savepoints."""
    client, _ = _editor()
    customer = CustomerFactory()
    with django_assert_num_queries(13):
        response = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert response.status_code == HTTPStatus.CREATED


# --- Real transactions -------------------------------------------------------------------


@pytest.fixture
def committed_customer(transactional_db):
    """A committed customer; its opportunities and itself are deleted afterwards.

    transactional_db does not clean the unmanaged tables, so this fixture does.
    """
    customer = CustomerFactory(cid=777001, customer_name="Race Conditions GmbH", area="Germany")
    yield customer
    Opportunity.objects.filter(customer_id=customer.cid).delete()
    Customer.objects.filter(cid=customer.cid).delete()


def test_a_failure_after_the_insert_leaves_neither_row_nor_key(committed_customer, monkeypatch):
    """If storing the response fails after the INSERT, the opportunity is rolled back and the key released."""
    client, _ = _editor()

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(idempotency_services, "idempotency_key_complete", fail)
    client.raise_request_exception = False
    response = client.post(LIST_URL, _body(committed_customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
    }
    assert Opportunity.objects.filter(customer_id=committed_customer.cid).count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.mysql
def test_twenty_concurrent_posts_with_one_key_create_exactly_one_row(committed_customer):
    """Twenty threads, one key, released at once: one row; every answer is that 201 or a 409."""
    _, user = _editor()
    token = Token.objects.get(user=user).key
    body = _body(committed_customer.cid, opportunity_name="Zwanzig auf einmal")
    barrier = threading.Barrier(20)
    responses = []
    lock = threading.Lock()

    def post():
        thread_client = APIClient()
        thread_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            response = thread_client.post(LIST_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="race-1")
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(responses) == 20
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {HTTPStatus.CREATED, HTTPStatus.CONFLICT}, statuses
    created = [r for r in responses if r.status_code == HTTPStatus.CREATED]
    assert created
    assert len({r.content for r in created}) == 1
    assert Opportunity.objects.filter(customer_id=committed_customer.cid).count() == 1
    assert IdempotencyKey.objects.get().state == "completed"


@pytest.mark.django_db
def test_a_database_outage_during_a_create_is_503_and_releases_the_key(monkeypatch):
    """The database going away mid-create: 503 with Retry-After, no row, the key free for the retry."""
    client, _ = _editor()
    customer = CustomerFactory()

    def gone(**kwargs):
        raise OperationalError(2006, "MySQL server has gone away")

    monkeypatch.setattr(idempotency_services, "opportunity_create", gone)
    client.raise_request_exception = False
    response = client.post(LIST_URL, _body(customer.cid), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "type": "server_error",
        "errors": [
            {
                "code": "database_unavailable",
                "detail": "The database is unreachable. Retry shortly.",
                "attr": None,
            }
        ],
    }
    assert Opportunity.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0
