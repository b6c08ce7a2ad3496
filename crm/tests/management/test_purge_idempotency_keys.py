"""purge_idempotency_keys: deletes keys past the retention, refuses a shorter one."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.models import IdempotencyKey
from crm.services import idempotency_key_claim
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_purge_command_deletes_old_keys_and_reports_the_count(capsys):
    """Keys created 49 hours ago go with --older-than-hours 48; a fresh one stays."""
    user = UserFactory()
    old = idempotency_key_claim(user=user, key="old", fingerprint="f" * 64)
    new = idempotency_key_claim(user=user, key="new", fingerprint="f" * 64)
    IdempotencyKey.objects.filter(pk=old.record.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=49)
    )
    call_command("purge_idempotency_keys", "--older-than-hours", "48")
    assert capsys.readouterr().out == "Deleted 1 idempotency key(s) older than 48 hours.\n"
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [new.record.pk]


def test_purge_command_refuses_less_than_the_retention():
    """--older-than-hours 1 would break the 24-hour promise: an error, nothing deleted."""
    with pytest.raises(CommandError, match="at least"):
        call_command("purge_idempotency_keys", "--older-than-hours", "1")
