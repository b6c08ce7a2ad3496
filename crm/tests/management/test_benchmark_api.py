"""The benchmark command runs end to end on a tiny throwaway database (the figures are not checked)."""

import re
import socket

import pytest
from django.core.management import call_command
from django.test import Client

from crm.management.commands.benchmark_api import OPPORTUNITY_CID, OPPORTUNITY_ROW, opportunity_create_runners
from crm.models import Opportunity
from crm.services import EDITORS_GROUP, api_user_ensure


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_benchmark_prints_every_figure_as_a_ratio_to_the_floor(capsys):
    """One SQLite run with 30 customers prints the floor, both endpoint paths, the reference and memory."""
    call_command(
        "benchmark_api",
        "--backends",
        "sqlite",
        "--rows",
        "30",
        "--repeat",
        "1",
        "--sections",
        "customers",
        "--port",
        str(_free_port()),
    )
    lines = capsys.readouterr().out.splitlines()
    figures = [line for line in lines if line.startswith("sqlite")]
    assert [line.split()[1] for line in figures] == ["30"] * 5
    assert "floor: raw SQL + dicts + orjson" in figures[0]
    for line, label in zip(
        figures[1:4],
        ["Django test client", "HTTP (gunicorn, loopback)", "plain DRF ModelSerializer"],
        strict=True,
    ):
        assert label in line
        assert line.split()[-1].endswith("x")
    assert "x the" in figures[4]


def test_the_create_section_prints_each_way_of_creating_against_the_raw_insert(capsys):
    """The opportunity_create section: the raw-INSERT floor, then service, API and keyed API as ratios."""
    call_command(
        "benchmark_api",
        "--backends",
        "sqlite",
        "--rows",
        "1",
        "--repeat",
        "1",
        "--creates",
        "3",
        "--sections",
        "opportunity_create",
        "--port",
        str(_free_port()),
    )
    figures = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sqlite")]
    labels = [
        "floor: raw INSERT of the same row",
        "opportunity_create() service",
        "POST /api/opportunities (test client)",
        "POST with Idempotency-Key (test client)",
    ]
    assert len(figures) == len(labels)
    for line, label in zip(figures, labels, strict=True):
        assert label in line
        assert "creates/s (3 in a row)" in line
    # The floor has no ratio; every other figure is a ratio to it.
    assert not re.search(r"\d\.\d\dx ", figures[0])
    assert all(re.search(r"\d\.\d\dx ", line) for line in figures[1:])


@pytest.mark.django_db
def test_each_create_runner_makes_the_same_row_the_given_number_of_times():
    """Raw INSERT, service, API and keyed API each add N identical opportunities for the bench customer."""
    _, token = api_user_ensure(username="bench-editor", group=EDITORS_GROUP)
    runners = opportunity_create_runners(client=Client(HTTP_AUTHORIZATION=f"Token {token}"), creates=2)
    for count, (_, run) in enumerate(runners, start=1):
        run()
        assert Opportunity.objects.count() == 2 * count
    rows = set(
        Opportunity.objects.values_list(
            "customer_id", "opportunity_name", "product", "status", "probability", "forecast_category"
        )
    )
    assert rows == {
        (OPPORTUNITY_CID, OPPORTUNITY_ROW["opportunity_name"], "Time Entry", "Proposal", 50, "Best Case")
    }
