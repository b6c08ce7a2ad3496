"""A database outage met outside DRF's views still answers 503 + Retry-After."""

from http import HTTPStatus
from unittest import mock

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError, ProgrammingError
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_client(settings):
    # Saving the session on every request makes SessionMiddleware read it on the way out,
    # after the view: a database access no DRF exception handler sees.
    settings.SESSION_SAVE_EVERY_REQUEST = True
    # The server's answer is under test, so the test client must not re-raise the exception.
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a" * 32
    return client


def _load_raises(exc):
    return mock.patch.object(SessionStore, "load", side_effect=exc)


def test_outage_in_a_middleware_is_503_json_under_api(session_client):
    """Under /api/, a middleware that cannot reach the database answers 503 JSON with Retry-After."""
    with _load_raises(OperationalError(2003, "Can't connect to MySQL server on 'db' (111)")):
        response = session_client.get("/api/no-such-endpoint")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "type": "server_error",
        "errors": [
            {
                "code": "database_unavailable",
                "detail": "The database is unreachable. Retry shortly.",
                "attr": None,
            }
        ],
    }


def test_outage_in_a_middleware_is_503_outside_api(session_client):
    """Elsewhere (admin, login) the same outage is a plain 503 with Retry-After, not a 500 page."""
    with _load_raises(OperationalError(2006, "MySQL server has gone away")):
        response = session_client.get("/admin/")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.content == b"Service temporarily unavailable. Retry shortly.\n"


def test_other_database_errors_in_a_middleware_stay_a_generic_500(session_client):
    """A database error that is not an outage is a bug: 500 in the error shape, no SQL in the body."""
    with _load_raises(ProgrammingError(1146, "Table 'crm.django_session' doesn't exist")):
        response = session_client.get("/api/no-such-endpoint")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Retry-After" not in response
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
    }
