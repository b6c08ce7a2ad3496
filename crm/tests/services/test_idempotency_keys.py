"""Idempotency keys: claim, complete, replay, reuse, stale takeover, release and purge."""

import datetime

import pytest
from django.utils import timezone

from crm.models import IdempotencyKey
from crm.services import (
    IDEMPOTENCY_CLAIM_TIMEOUT,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_purge,
    idempotency_key_release,
)
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


def test_a_new_key_is_claimed_in_progress(user):
    """The first use of a key stores an in-progress claim with the request's fingerprint."""
    claim = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    assert not claim.is_replay
    stored = IdempotencyKey.objects.get()
    assert (stored.user_id, stored.state, stored.request_fingerprint) == (user.pk, "in_progress", "f" * 64)
    # The key itself is stored as a digest only.
    assert "order-1" not in stored.key_digest


def test_a_retry_while_in_progress_is_refused(user):
    """A second claim of a running key raises IdempotencyInProgress and stores nothing new."""
    idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    with pytest.raises(IdempotencyInProgress):
        idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    assert IdempotencyKey.objects.count() == 1


def test_a_completed_key_replays_the_stored_response(user):
    """After completion, the same key and fingerprint return the stored status and body."""
    claim = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    idempotency_key_complete(claim=claim, status=201, body='{"oid":"abc"}')
    replay = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    assert (replay.is_replay, replay.replay_status, replay.replay_body) == (True, 201, '{"oid":"abc"}')


def test_the_same_key_with_another_request_is_refused(user):
    """A different fingerprint under a used key raises IdempotencyKeyReused."""
    claim = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    idempotency_key_complete(claim=claim, status=201, body="{}")
    with pytest.raises(IdempotencyKeyReused):
        idempotency_key_claim(user=user, key="order-1", fingerprint="e" * 64)


def test_keys_are_per_user_and_case_sensitive(user):
    """Another user, or the same letters in another case, is another key."""
    idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    idempotency_key_claim(user=UserFactory(), key="order-1", fingerprint="f" * 64)
    idempotency_key_claim(user=user, key="ORDER-1", fingerprint="f" * 64)
    idempotency_key_claim(user=user, key="order-1 ", fingerprint="f" * 64)
    assert IdempotencyKey.objects.count() == 4


def test_a_released_claim_can_be_claimed_again(user):
    """A request that failed releases its key: the retry starts afresh."""
    claim = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    idempotency_key_release(claim=claim)
    assert IdempotencyKey.objects.count() == 0
    again = idempotency_key_claim(user=user, key="order-1", fingerprint="e" * 64)
    assert not again.is_replay


def test_a_stale_claim_is_taken_over_and_the_old_owner_cannot_complete(user):
    """A claim older than the timeout goes to the retry; the original request then cannot complete."""
    # given: a claim whose request died long ago
    first = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    IdempotencyKey.objects.update(
        claimed_at=timezone.now() - IDEMPOTENCY_CLAIM_TIMEOUT - datetime.timedelta(1)
    )
    # when
    second = idempotency_key_claim(user=user, key="order-1", fingerprint="f" * 64)
    # then
    assert not second.is_replay
    with pytest.raises(IdempotencyInProgress):
        idempotency_key_complete(claim=first, status=201, body="{}")
    idempotency_key_complete(claim=second, status=201, body='{"oid":"second"}')
    assert IdempotencyKey.objects.get().response_body == '{"oid":"second"}'


def test_purge_deletes_only_keys_past_the_retention(user):
    """Keys older than 24 hours go; younger ones stay."""
    idempotency_key_claim(user=user, key="old", fingerprint="f" * 64)
    idempotency_key_claim(user=user, key="recent", fingerprint="f" * 64)
    now = timezone.now()
    IdempotencyKey.objects.filter(pk=IdempotencyKey.objects.order_by("pk").first().pk).update(
        created_at=now - datetime.timedelta(hours=25)
    )
    IdempotencyKey.objects.exclude(created_at__lt=now - datetime.timedelta(hours=24)).update(
        created_at=now - datetime.timedelta(hours=23)
    )
    assert idempotency_key_purge() == 1
    assert IdempotencyKey.objects.count() == 1


def test_purge_refuses_a_retention_under_24_hours():
    """Keys are promised for at least 24 hours: a shorter purge is refused."""
    with pytest.raises(ValueError, match="at least"):
        idempotency_key_purge(older_than=datetime.timedelta(hours=23))
