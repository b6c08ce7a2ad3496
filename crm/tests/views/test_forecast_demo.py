"""docs/forecast.md's worked example is what the API answers on the demo data."""

import json
import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from crm.models import Change, ForecastSnapshot
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


API_DOC = Path(settings.BASE_DIR) / "docs" / "api.md"


def _documented_exchange(request: str) -> tuple[int, dict]:
    """The status and JSON body docs/api.md prints under ``request``."""
    text = API_DOC.read_text(encoding="utf-8")
    block = re.search(re.escape(request) + r"\n(\d{3}) [^\n]*\n(\{.*?\})\n", text)
    assert block, f"docs/api.md lost its example of {request}"
    return int(block.group(1)), json.loads(block.group(2))


def test_demo_history_gives_the_documented_movement_and_a_snapshot_per_day(api_client):
    """load_demo_data --history: the movement docs/api.md prints, its 400 for an early from, 13 snapshots."""
    # given
    call_command("load_demo_data", "--history")
    api_client.force_authenticate(
        UserFactory(permissions=["crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget"])
    )

    # when / then
    for query in (
        "fiscal_year=2025&from=2024-12-02&to=2024-12-13",
        "fiscal_year=2025&from=2024-11-01&to=2024-12-13",
    ):
        status, body = _documented_exchange(f"GET /api/forecast/movement?{query}")
        response = api_client.get(f"{reverse('api:forecast-movement')}?{query}")
        assert (response.status_code, response.json()) == (status, body)
    snapshots = api_client.get(
        reverse("api:forecast-snapshots"), {"fiscal_year": 2025, "area": "Switzerland"}
    )
    assert snapshots.status_code == HTTPStatus.OK
    series = [(row["as_of"], row["weighted_pipeline"]) for row in snapshots.json()]
    assert [day for day, _ in series] == [f"2024-12-{day:02}" for day in range(1, 14)]
    # The day before the first change and the day after the last: the movement's start and end.
    assert (series[0][1], series[-1][1]) == ("39085.00", "44875.00")


def test_demo_history_is_added_once():
    """A second --history run finds the history it wrote and adds nothing."""
    call_command("load_demo_data", "--history")
    counts = (Change.objects.count(), ForecastSnapshot.objects.count())
    call_command("load_demo_data", "--history")
    assert (Change.objects.count(), ForecastSnapshot.objects.count()) == counts
