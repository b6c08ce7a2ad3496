"""Rate limits: the API's per-user and anonymous throttles, and the admin login form."""

from http import HTTPStatus
from unittest import mock

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def _assert_throttled(response):
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["type"] == "client_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("throttled", None)]


def test_anonymous_callers_get_429_with_retry_after_in_the_error_shape(api_client):
    """Past THROTTLE_ANON, anonymous requests get 429, Retry-After and the standard error body."""
    with mock.patch.object(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min"}):
        responses = [api_client.get("/api/schema/", HTTP_ACCEPT="application/json") for _ in range(4)]
    assert [r.status_code for r in responses[:3]] == [HTTPStatus.OK] * 3
    _assert_throttled(responses[3])


def test_the_user_limit_is_counted_per_user(api_client):
    """One user over THROTTLE_USER is refused while another user keeps working."""
    # given
    greedy, other = UserFactory(), UserFactory()
    rates = {"anon": "1000/min", "user": "2/min"}
    with mock.patch.object(UserRateThrottle, "THROTTLE_RATES", rates):
        # when
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=greedy).key}")
        greedy_statuses = [
            api_client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code for _ in range(3)
        ]
        throttled = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
        other_status = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code
    # then
    assert greedy_statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    _assert_throttled(throttled)
    assert other_status == HTTPStatus.OK


def _admin_login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


@pytest.fixture
def login_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }


@pytest.mark.usefixtures("login_rate")
def test_admin_login_locks_an_account_after_repeated_failures_from_one_address():
    """After THROTTLE_LOGIN failures, even the right password is refused with 429 + Retry-After."""
    # given
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    # when
    failures = [_admin_login(client, staff.username, "wrong").status_code for _ in range(3)]
    locked = _admin_login(client, staff.username, PASSWORD)
    # then
    assert failures == [HTTPStatus.OK] * 3  # the form shown again with an error
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(locked["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session


@pytest.mark.usefixtures("login_rate")
def test_admin_login_limit_is_keyed_by_address_and_username():
    """Failures for one account from one address lock neither other accounts nor other addresses."""
    # given
    staff, colleague = UserFactory(is_staff=True), UserFactory(is_staff=True)
    for _ in range(3):
        _admin_login(Client(), staff.username, "wrong", ip="10.0.0.1")
    # when
    same_user_elsewhere = _admin_login(Client(), staff.username, PASSWORD, ip="10.0.0.2")
    other_user_same_ip = _admin_login(Client(), colleague.username, PASSWORD, ip="10.0.0.1")
    # then
    assert same_user_elsewhere.status_code == HTTPStatus.FOUND
    assert other_user_same_ip.status_code == HTTPStatus.FOUND


@pytest.mark.usefixtures("login_rate")
def test_successful_admin_logins_do_not_count():
    """A user who logs in many times is never locked out: only failures count."""
    staff = UserFactory(is_staff=True)
    statuses = {_admin_login(Client(), staff.username, PASSWORD).status_code for _ in range(5)}
    assert statuses == {HTTPStatus.FOUND}
