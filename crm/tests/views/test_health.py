from http import HTTPStatus
from unittest import mock

import pytest
from django.db import OperationalError
from rest_framework.throttling import AnonRateThrottle

from crm.schema import LEGACY_TABLES

pytestmark = pytest.mark.django_db

PROBES = ["/healthz", "/healthz/", "/readyz", "/readyz/"]


READY = {"status": "ok", "databases": {"default": {"state": "ok"}}, "cache": "ok"}


@pytest.mark.parametrize(
    ("path", "body"), [(path, READY if path.startswith("/readyz") else {"status": "ok"}) for path in PROBES]
)
def test_probes_answer_without_authentication_or_redirect(api_client, path, body):
    """Both probes answer 200 anonymously, with or without the trailing slash; /readyz names each part."""
    response = api_client.get(path)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == body
    assert "no-cache" in response["Cache-Control"]


def test_healthz_does_not_touch_the_database(api_client, django_assert_num_queries):
    """Liveness must not depend on the database: an outage would restart every worker."""
    with django_assert_num_queries(0):
        response = api_client.get("/healthz")
    assert response.status_code == HTTPStatus.OK


def test_readyz_is_503_when_the_database_does_not_answer(api_client):
    """A database that cannot be reached makes the instance not ready (503, Retry-After, status only)."""
    # given
    down = OperationalError(2003, "Can't connect to MySQL server on 'db' (111)")
    # when
    with mock.patch("crm.health.missing_legacy_tables", side_effect=down):
        response = api_client.get("/readyz")
    # then
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {"status": "unavailable"}
    assert response["Retry-After"] == "5"


def test_readyz_is_503_when_a_crm_table_is_missing(api_client):
    """A database without the four CRM tables is not ready; the body names no table."""
    with mock.patch("crm.health.missing_legacy_tables", return_value=[LEGACY_TABLES[1]]):
        response = api_client.get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {"status": "unavailable"}


def test_probes_are_not_throttled(api_client):
    """Load balancers poll often: the anonymous rate limit never applies to the probes."""
    # given an anonymous limit of 2/min that the API itself enforces
    with mock.patch.object(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min"}):
        api_statuses = [api_client.get("/api/schema/").status_code for _ in range(3)]
        # when
        statuses = {api_client.get(path).status_code for path in PROBES * 3}
    # then
    assert api_statuses[-1] == HTTPStatus.TOO_MANY_REQUESTS
    assert statuses == {HTTPStatus.OK}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_refuse_writes(api_client, path):
    """Probes are read-only: POST gets 405."""
    assert api_client.post(path).status_code == HTTPStatus.METHOD_NOT_ALLOWED
