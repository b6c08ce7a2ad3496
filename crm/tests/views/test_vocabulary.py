"""GET /api/vocabulary."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_any_authenticated_user_reads_the_vocabulary():
    """A user with no CRM permission still gets the vocabulary and the status defaults."""
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get(reverse("api:vocabulary"))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "areas": ["France", "Germany", "Switzerland", "Netherlands", "UK"],
        "statuses": ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
        "products": ["Accounting", "Time Entry", "Payroll", "Expenses"],
        "forecast_categories": ["Pipeline", "Best Case", "Commit", "Closed", "Omitted"],
        "status_defaults": {
            "Prospecting": {"probability": 10, "forecast_category": "Pipeline"},
            "Qualification": {"probability": 20, "forecast_category": "Pipeline"},
            "Proposal": {"probability": 50, "forecast_category": "Best Case"},
            "Negotiation": {"probability": 75, "forecast_category": "Commit"},
            "Closed Won": {"probability": 100, "forecast_category": "Closed"},
            "Closed Lost": {"probability": 0, "forecast_category": "Omitted"},
        },
    }


def test_anonymous_is_401(api_client):
    """The vocabulary is not public."""
    assert api_client.get(reverse("api:vocabulary")).status_code == HTTPStatus.UNAUTHORIZED
