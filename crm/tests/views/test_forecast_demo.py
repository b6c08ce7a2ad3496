"""docs/forecast.md's worked example is what the API answers on the demo data."""

import json
import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOC = Path(settings.BASE_DIR) / "docs" / "forecast.md"


def _documented_response() -> dict:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- demo-forecast-response -->\s*```json\n(.*?)\n```", text, re.DOTALL)
    assert block, "docs/forecast.md lost its marked response block"
    return json.loads(block.group(1))


def _worked_example_figures() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1].split("The total:", 1)[0]
    return re.findall(r"\*\*([\d.]+)\*\*", section)


def test_demo_forecast_matches_the_documented_response(api_client):
    """The demo data's FY2025 forecast as of 2024-12-15 equals the response printed in the doc."""
    # given
    call_command("load_demo_data")
    api_client.force_authenticate(
        UserFactory(permissions=["crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget"])
    )

    # when
    response = api_client.get(reverse("api:forecast"), {"fiscal_year": 2025, "as_of": "2024-12-15"})

    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _documented_response()
    assert [row["area"] for row in response.json()["areas"]] == [
        "France",
        "Germany",
        "Switzerland",
        "Netherlands",
        "UK",
    ]


def test_worked_example_steps_quote_the_documented_switzerland_row():
    """Every bold result of the step-by-step derivation is a value of the Switzerland row, in order."""
    switzerland = next(r for r in _documented_response()["areas"] if r["area"] == "Switzerland")
    fields = [
        "actuals_to_date",
        "run_rate",
        "remaining_months",
        "run_rate_projection",
        "weighted_pipeline",
        "projected_total",
        "gap_to_target",
        "attainment_pct",
        "projected_attainment_pct",
        "open_pipeline_count",
        "open_pipeline_mrr",
    ]

    assert _worked_example_figures() == [str(switzerland[f]) for f in fields]
