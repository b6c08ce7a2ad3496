"""The create benchmark's runners do what their labels say: each makes the same row N times."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from crm.management.commands.benchmark_opportunity_create import CID, ROW, opportunity_create_runners
from crm.models import Opportunity
from crm.services import EDITORS_GROUP, api_user_ensure

pytestmark = pytest.mark.django_db


def test_each_runner_creates_the_same_row_the_given_number_of_times():
    """Raw INSERT, service, API and keyed API each add N identical opportunities for the bench customer."""
    user, token = api_user_ensure(username="bench-editor", group=EDITORS_GROUP)
    assert Token.objects.get(user=user).key == token
    runners = opportunity_create_runners(client=Client(HTTP_AUTHORIZATION=f"Token {token}"), creates=2)
    assert [label for label, _ in runners] == [
        "floor: raw INSERT, autocommit",
        "opportunity_create (service)",
        "POST /api/opportunities",
        "POST with Idempotency-Key",
    ]
    for count, (_, run) in enumerate(runners, start=1):
        run()
        assert Opportunity.objects.count() == 2 * count
    rows = set(
        Opportunity.objects.values_list(
            "customer_id", "opportunity_name", "product", "status", "probability", "forecast_category"
        )
    )
    assert rows == {(CID, ROW["opportunity_name"], "Time Entry", "Proposal", 50, "Best Case")}
