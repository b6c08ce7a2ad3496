"""Idempotency keys: claim, complete, release and purge, for POSTs with an Idempotency-Key."""

import dataclasses
import datetime
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from ..models import IdempotencyKey, Opportunity
from ..scopes import AreaScope
from .opportunities import opportunity_create, opportunity_reference_errors

logger = logging.getLogger(__name__)

# --- Idempotency keys --------------------------------------------------------------------
#
# A POST with an Idempotency-Key runs in three steps:
# 1. idempotency_key_claim commits an "in progress" row on its own. The unique constraint
#    (user, key) lets exactly one of any number of concurrent requests insert it; the others
#    get the duplicate-key error as soon as that short transaction commits, read the row and
#    answer 409 (still running), 422 (different body) or the stored response (done).
# 2. The caller does the work and, in the same transaction, idempotency_key_complete stores
#    the response: the opportunity and its key's response commit together or not at all.
# 3. On any failure the caller runs idempotency_key_release, so nothing is remembered for
#    a request that created nothing and the client may retry with the same key.
# Why not claim inside the work's transaction: an uncommitted row is invisible to other
# transactions (REPEATABLE READ on MySQL), so a retry would block on the unique index's
# row lock until the first finished, instead of learning at once that it is in progress.

IDEMPOTENCY_KEY_MAX_LENGTH = 255
# A claim older than this belongs to a request that died (worker killed, connection lost):
# a retry may take it over. Far longer than any request may run.
IDEMPOTENCY_CLAIM_TIMEOUT = datetime.timedelta(minutes=2)
# Keys are kept at least this long; purge_idempotency_keys deletes older ones.
IDEMPOTENCY_KEY_RETENTION = datetime.timedelta(hours=24)
# MySQL's "deadlock found": concurrent inserts of one unique value can end in one.
_MYSQL_DEADLOCK = 1213


class IdempotencyInProgress(Exception):
    """A request with this key is still running."""


class IdempotencyKeyReused(Exception):
    """The key was used before with a different request."""


@dataclasses.dataclass(frozen=True)
class IdempotencyClaim:
    """What idempotency_key_claim found: either a claim to complete, or a response to replay."""

    record: IdempotencyKey
    replay_status: int | None = None
    replay_body: str | None = None

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None


def idempotency_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def idempotency_request_fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path.rstrip("/"), body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_deadlock(exc: OperationalError) -> bool:
    return bool(exc.args) and exc.args[0] == _MYSQL_DEADLOCK


def idempotency_key_claim(*, user, key: str, fingerprint: str) -> IdempotencyClaim:
    """Claim ``key`` for ``user``, or find what an earlier request with it did.

    Returns a claim to complete, or a stored response to replay. Raises
    IdempotencyInProgress (an earlier request still runs) or IdempotencyKeyReused (it had
    another body). Not atomic on purpose: the claim must be committed before the work starts.
    """
    digest = idempotency_key_digest(key)
    now = timezone.now()
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user,
                key_digest=digest,
                request_fingerprint=fingerprint,
                claim_token=token,
                claimed_at=now,
                created_at=now,
            )
        return IdempotencyClaim(record=record)
    except IntegrityError:
        pass
    except OperationalError as exc:
        if _is_deadlock(exc):
            raise IdempotencyInProgress(key) from exc
        raise

    # This read runs after the failed INSERT's transaction ended, so it sees the committed
    # row. Inside a caller's older REPEATABLE READ snapshot it might not: then the row is
    # one that committed after our snapshot began, i.e. a request that is (or just was)
    # running, and 409 is the honest answer.
    record = IdempotencyKey.objects.filter(user=user, key_digest=digest).first()
    if record is None:
        raise IdempotencyInProgress(key)
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(key)
    if record.state == IdempotencyKey.State.COMPLETED:
        return IdempotencyClaim(
            record=record, replay_status=record.response_status, replay_body=record.response_body
        )
    if record.claimed_at < now - IDEMPOTENCY_CLAIM_TIMEOUT:
        # The request that claimed it died without completing or releasing: take it over.
        # The conditional UPDATE lets only one of several retries win.
        taken = IdempotencyKey.objects.filter(
            pk=record.pk, state=IdempotencyKey.State.IN_PROGRESS, claim_token=record.claim_token
        ).update(claim_token=token, claimed_at=now)
        if taken:
            record.claim_token, record.claimed_at = token, now
            return IdempotencyClaim(record=record)
    raise IdempotencyInProgress(key)


def idempotency_key_complete(*, claim: IdempotencyClaim, status: int, body: str) -> None:
    """Store the response; call it inside the transaction that did the work.

    Raises IdempotencyInProgress when the claim was taken over meanwhile, which rolls the
    work back: exactly one request's work is kept.
    """
    completed = IdempotencyKey.objects.filter(
        pk=claim.record.pk,
        state=IdempotencyKey.State.IN_PROGRESS,
        claim_token=claim.record.claim_token,
    ).update(state=IdempotencyKey.State.COMPLETED, response_status=status, response_body=body)
    if not completed:
        raise IdempotencyInProgress(claim.record.key_digest)


def idempotency_key_release(*, claim: IdempotencyClaim) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    IdempotencyKey.objects.filter(
        pk=claim.record.pk,
        state=IdempotencyKey.State.IN_PROGRESS,
        claim_token=claim.record.claim_token,
    ).delete()


@transaction.atomic
def idempotency_key_purge(*, older_than: datetime.timedelta = IDEMPOTENCY_KEY_RETENTION) -> int:
    """Delete keys created more than ``older_than`` ago; refuses to go below the retention."""
    if older_than < IDEMPOTENCY_KEY_RETENTION:
        raise ValueError(f"keys are kept at least {IDEMPOTENCY_KEY_RETENTION}; got {older_than}")
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- An opportunity created with an Idempotency-Key ---------------------------------------


@dataclasses.dataclass(frozen=True)
class IdempotentCreate:
    """What a POST with an Idempotency-Key answers: a new opportunity, or the first answer again."""

    status: int
    body: dict
    # None when replayed: the first request created it.
    opportunity: Opportunity | None

    @property
    def replayed(self) -> bool:
        return self.opportunity is None


def opportunity_create_idempotent(
    *,
    user,
    key: str,
    fingerprint: str,
    data: dict[str, Any],
    represent: Callable[[Opportunity], dict],
    scope: AreaScope = AreaScope.ALL,
) -> IdempotentCreate:
    """Create an opportunity at most once per ``(user, key)``; steps 1 to 3 above.

    ``data`` are opportunity_create's arguments; ``represent`` turns the new opportunity
    into the response body, which is stored with it and replayed to a retry; ``scope`` as for
    opportunity_create. Raises
    IdempotencyInProgress or IdempotencyKeyReused as idempotency_key_claim does. Not one
    transaction on purpose: the claim commits first, the work and its response together.
    """
    claim = idempotency_key_claim(user=user, key=key, fingerprint=fingerprint)
    if claim.is_replay:
        if not scope.is_all and (errors := opportunity_reference_errors(cid=data["cid"], scope=scope)):
            # The caller has lost the customer's area since: answered as a first request would
            # be now (the customer does not exist for them), not with what it saw then.
            raise ValidationError(errors)
        return IdempotentCreate(
            status=claim.replay_status, body=json.loads(claim.replay_body), opportunity=None
        )
    try:
        with transaction.atomic():
            opportunity = opportunity_create(**data, scope=scope)
            body = represent(opportunity)
            # Stored as the JSON text sent; a replay parses and sends it again.
            idempotency_key_complete(claim=claim, status=HTTPStatus.CREATED, body=_json_text(body))
    except IdempotencyInProgress:
        # Taken over meanwhile (this request outlived the claim timeout): the work rolled
        # back, and the claim is the other request's to complete.
        raise
    except BaseException:
        _release_quietly(claim)
        raise
    return IdempotentCreate(status=HTTPStatus.CREATED, body=body, opportunity=opportunity)


def _json_text(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _release_quietly(claim: IdempotencyClaim) -> None:
    try:
        idempotency_key_release(claim=claim)
    except Exception:
        # The request's own error matters more; a claim left behind goes stale and is taken over.
        logger.exception("could not release an idempotency claim")
