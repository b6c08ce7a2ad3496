"""The API conventions every endpoint shares: one error shape, request ids, no leaks.

Shown on the customer endpoints; a probe view stands in where a request body is needed.
"""

import logging
from http import HTTPStatus

import pytest
from django.db import OperationalError, ProgrammingError, connection
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from crm.middleware import RequestIdLogFilter
from crm.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/customers"
LEAKS = ("db.internal", "SELECT", "Traceback", "customer_name", "password", 'File "')


@pytest.fixture
def reader():
    user = UserFactory(permissions=["crm.view_customer"])
    assert user.has_perm("crm.view_customer")
    return user


@pytest.fixture
def reader_client(reader):
    # Answer 5xx like production instead of re-raising into the test.
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(reader)
    return client


def _failing_with(exc):
    def wrapper(execute, sql, params, many, context):
        raise exc

    return wrapper


# --- Database failures ----------------------------------------------------------------------
CANNOT_CONNECT = OperationalError(2003, "Can't connect to MySQL server on 'db.internal:3306' (111)")


def test_an_unreachable_database_is_a_503_with_retry_after(reader_client):
    """The list query failing with "cannot connect" answers 503 JSON with Retry-After and no details."""
    CustomerFactory(cid=1)
    with connection.execute_wrapper(_failing_with(CANNOT_CONNECT)):
        response = reader_client.get(LIST_URL)
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
    assert not any(leak in response.content.decode() for leak in LEAKS)


def test_a_dropped_connection_the_driver_reports_unwrapped_is_a_503(reader_client, monkeypatch):
    """A raw driver error (as MySQLdb raises from cursor.close() mid-outage) still answers 503, not 500."""
    from crm.views import customers

    def dropped(**kwargs):
        raise connection.Database.OperationalError(2006, "")

    monkeypatch.setattr(customers.CustomerViewSet, "selector", staticmethod(dropped))
    response = reader_client.get(LIST_URL)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.json()["errors"][0]["code"] == "database_unavailable"


def test_an_outage_during_token_authentication_is_a_503_too(reader):
    """The token lookup is the first query; a dead database there is still 503, not 401 or 500."""
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=reader).key
    api_client = APIClient(raise_request_exception=False)
    with connection.execute_wrapper(_failing_with(CANNOT_CONNECT)):
        response = api_client.get(f"{LIST_URL}/7", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["errors"][0]["code"] == "database_unavailable"


def test_another_database_error_is_a_500_logged_with_the_request_id(reader_client, caplog):
    """Other database errors: a generic 500; the log has the traceback and the response's request id."""
    caplog.handler.addFilter(RequestIdLogFilter())
    failure = ProgrammingError(
        1146, "Table 'intrasoft.customer' doesn't exist: SELECT customer_name FROM customer"
    )
    with caplog.at_level(logging.ERROR), connection.execute_wrapper(_failing_with(failure)):
        response = reader_client.get(LIST_URL, HTTP_X_REQUEST_ID="client-trace-0001")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
    }
    assert not any(leak in response.content.decode() for leak in LEAKS)
    assert response["X-Request-ID"] == "client-trace-0001"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ProgrammingError]
    assert logged, "the traceback must reach the log"
    assert {r.request_id for r in logged} == {"client-trace-0001"}


# --- Request ids ------------------------------------------------------------------------------
def test_every_response_carries_a_request_id(api_client, reader_client):
    """Successes and errors alike carry X-Request-ID; a well-formed client id is kept, others replaced."""
    anonymous = api_client.get(LIST_URL)
    kept = reader_client.get(LIST_URL, HTTP_X_REQUEST_ID="abcdef12-3456")
    replaced = reader_client.get(LIST_URL, HTTP_X_REQUEST_ID="bad id\nforged log line")
    assert len(anonymous["X-Request-ID"]) == 32
    assert kept["X-Request-ID"] == "abcdef12-3456"
    assert replaced["X-Request-ID"] != "bad id\nforged log line"
    assert len(replaced["X-Request-ID"]) == 32


# --- The error shape for each status ----------------------------------------------------------
def test_an_unknown_api_path_is_a_json_404(reader_client):
    """Paths under /api/ that match nothing answer 404 in the error shape, not an HTML page."""
    response = reader_client.get("/api/no-such-thing")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "No such endpoint.", "attr": None}],
    }


def test_an_unsupported_accept_header_is_a_406(reader_client):
    """Asking for a format the API cannot produce answers 406 in the error shape."""
    response = reader_client.get(LIST_URL, HTTP_ACCEPT="application/xml")
    assert response.status_code == HTTPStatus.NOT_ACCEPTABLE
    assert response.json()["type"] == "client_error"
    assert [e["code"] for e in response.json()["errors"]] == ["not_acceptable"]


def test_a_method_the_endpoint_lacks_is_a_405(reader_client):
    """405 comes in the error shape, with the allowed methods in Allow."""
    response = reader_client.post(LIST_URL, {}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "method_not_allowed", "detail": 'Method "POST" not allowed.', "attr": None}],
    }
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_too_many_requests_is_a_429_with_retry_after(reader_client, monkeypatch):
    """Past the per-user rate the API answers 429 in the error shape, saying when to retry."""
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    statuses = [reader_client.get(LIST_URL).status_code for _ in range(3)]
    response = reader_client.get(LIST_URL)
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert response.json()["type"] == "client_error"
    assert [e["code"] for e in response.json()["errors"]] == ["throttled"]
    assert int(response["Retry-After"]) > 0


@pytest.mark.urls("crm.tests.probe_urls")
def test_a_body_that_is_not_json_is_a_415(reader_client):
    """A body in a media type the API does not parse answers 415 in the error shape."""
    response = reader_client.post("/api/probe", data="a=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "unsupported_media_type",
                "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
                "attr": None,
            }
        ],
    }


@pytest.mark.urls("crm.tests.probe_urls")
def test_malformed_json_is_a_400_parse_error(reader_client):
    """A JSON body that does not parse answers 400 parse_error, without echoing the body."""
    response = reader_client.post("/api/probe", data='{"name": ', content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["type"] == "client_error"
    assert [e["code"] for e in response.json()["errors"]] == ["parse_error"]


def test_a_django_validation_error_becomes_a_400_naming_the_field():
    """Selectors and services raise Django's ValidationError; the handler keeps fields and codes."""
    from django.core.exceptions import ValidationError

    from crm.errors import as_drf_validation_error

    by_field = as_drf_validation_error(
        ValidationError({"probability": [ValidationError("Must be 0 to 100.", code="max_value")]})
    )
    whole = as_drf_validation_error(ValidationError("Closed deals cannot move.", code="closed"))
    assert by_field.get_full_details() == {
        "probability": [{"message": "Must be 0 to 100.", "code": "max_value"}]
    }
    assert whole.get_full_details() == {
        "non_field_errors": [{"message": "Closed deals cannot move.", "code": "closed"}]
    }
