"""The benchmark command runs end to end on a tiny throwaway database (the figures are not checked)."""

import socket

from django.core.management import call_command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_benchmark_prints_every_figure_as_a_ratio_to_the_floor(capsys):
    """One SQLite run with 30 customers prints the floor, both endpoint paths, the reference and memory."""
    call_command(
        "benchmark_api", "--backends", "sqlite", "--rows", "30", "--repeat", "1", "--port", str(_free_port())
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
