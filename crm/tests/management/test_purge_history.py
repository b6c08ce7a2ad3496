"""manage.py purge_history --older-than DAYS: deletes only entries older than asked."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.models import Change
from crm.services import opportunity_update
from crm.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def test_purge_deletes_entries_older_than_the_days_given_and_keeps_the_rest(capsys):
    """Three entries 100, 40 and 0 days old; --older-than 30 deletes two and says so."""
    opportunity = OpportunityFactory(est_monthly_revenue=Decimal("10.00"))
    for amount in ("11.00", "12.00", "13.00"):
        opportunity_update(opportunity=opportunity, est_monthly_revenue=Decimal(amount))
    old, older, recent = Change.objects.order_by("id")
    now = timezone.now()
    Change.objects.filter(pk=old.pk).update(at=now - datetime.timedelta(days=100))
    Change.objects.filter(pk=older.pk).update(at=now - datetime.timedelta(days=40))

    call_command("purge_history", "--older-than", "30")

    assert capsys.readouterr().out == "Deleted 2 change-history entries older than 30 days.\n"
    assert list(Change.objects.values_list("pk", flat=True)) == [recent.pk]


def test_purge_needs_the_age_and_refuses_a_negative_one():
    """Without --older-than nothing is purged (the command refuses); a negative age is refused too."""
    OpportunityFactory()
    with pytest.raises(CommandError, match="--older-than"):
        call_command("purge_history")
    with pytest.raises(CommandError, match="0 or more"):
        call_command("purge_history", "--older-than", "-1")
