"""Rate limits: the API's per-user and anonymous throttles, and the admin login form."""

import ipaddress
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from crm import throttling
from crm.cache import FailOpenCache
from crm.tests.caches import redis_commands
from crm.tests.factories import UserFactory
from crm.throttling import FormRateThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
# "ACCEPTadmin" in fullwidth forms (U+FF21 ...), as the hostile run typed it.
FULLWIDTH_ACCEPTADMIN = "".join(chr(ord(char) + 0xFEE0) for char in "ACCEPTadmin")


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


@pytest.fixture(params=["in-process", "redis"])
def rate_cache(request, settings):
    """The tests' in-process cache, or the Redis this machine runs (one atomic step per request)."""
    if request.param == "redis":
        settings.CACHES = request.getfixturevalue("shared_redis")
    yield request.param
    caches["default"].close()


def test_a_throttled_user_gets_one_request_back_per_period_over_the_rate(api_client, rate_cache):
    """At 2/min two requests pass, the third waits 30 s (Retry-After), and then one passes every 30 s."""
    # given
    user = UserFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    clock = [1_000_000.0]

    def get():
        return api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    with (
        mock.patch.object(UserRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "2/min"}),
        mock.patch.object(UserRateThrottle, "timer", lambda self: clock[0]),
    ):
        # when
        burst = [get().status_code for _ in range(2)]
        refused = get()
        clock[0] += 29
        still_refused = get()
        clock[0] += 1
        after_30_s = [get().status_code for _ in range(2)]
        clock[0] += 60
        after_a_quiet_minute = [get().status_code for _ in range(3)]
    # then
    assert burst == [HTTPStatus.OK, HTTPStatus.OK]
    _assert_throttled(refused)
    assert refused["Retry-After"] == "30"
    assert still_refused["Retry-After"] == "1"
    assert after_30_s == [HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert after_a_quiet_minute == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_the_rate_counter_stays_one_number_however_many_requests_it_counts(api_client):
    """The cache entry a token's requests are counted in is as small after 200 requests as after one."""
    # given
    user = UserFactory()
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    key = throttling.UserRateThrottle().token_cache_key(token.key)
    # when
    first = api_client.get("/api/me")
    after_one = cache.get(key)
    statuses = {api_client.get("/api/me").status_code for _ in range(200)}
    after_many = cache.get(key)
    # then: DRF's own throttle would hold 201 request times here
    assert first.status_code == HTTPStatus.OK and statuses == {HTTPStatus.OK}
    assert after_one is not None and after_many > after_one
    assert len(pickle.dumps(after_many)) == len(pickle.dumps(after_one)) < 32


def test_a_tokens_bucket_is_named_by_a_digest_and_a_session_users_by_the_user(api_client):
    """Calls are counted per token (never under the key itself) and, signed in by session, per user."""
    # given
    user = UserFactory()
    token = Token.objects.create(user=user)
    by_token = throttling.UserRateThrottle().token_cache_key(token.key)
    by_user = UserRateThrottle.cache_format % {"scope": "user", "ident": user.pk}
    # when
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    token_call = api_client.get("/api/me")
    after_token_call = (cache.get(by_token), cache.get(by_user))
    api_client.credentials()
    api_client.force_login(user)
    session_call = api_client.get("/api/me")
    # then
    assert token_call.status_code == session_call.status_code == HTTPStatus.OK
    assert token.key not in by_token
    assert after_token_call[0] is not None and after_token_call[1] is None
    assert cache.get(by_user) is not None


def test_on_redis_a_token_call_asks_the_cache_once(api_client, settings, shared_redis):
    """Once its token is known, a call reads the token's entry and steps its bucket in one round
    trip to Redis, and the limit still holds."""
    # given: a token checked once, a limit of 3/min
    settings.CACHES = shared_redis
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")
    with mock.patch.object(UserRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "3/min"}):
        first = api_client.get("/api/me")
        # when
        with redis_commands(caches["default"]) as sent:
            second = api_client.get("/api/me")
        statuses = [api_client.get("/api/me").status_code for _ in range(2)]
    caches["default"].close()
    # then
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert sent == ["EVALSHA"]
    assert statuses == [HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


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


@pytest.mark.usefixtures("login_rate")
def test_a_locked_login_gets_one_attempt_back_every_period_over_the_rate():
    """At 3/min three failures lock the account for 20 s (Retry-After); then one attempt passes
    every 20 s, and after a quiet minute the right password logs in."""
    # given
    staff = UserFactory(is_staff=True)
    clock = [1_000_000.0]
    with mock.patch.object(FormRateThrottle, "timer", lambda self: clock[0]):
        for _ in range(3):
            _admin_login(Client(), staff.username, "wrong")
        # when
        locked = _admin_login(Client(), staff.username, PASSWORD)
        clock[0] += 19
        still_locked = _admin_login(Client(), staff.username, PASSWORD)
        clock[0] += 1
        one_more_failure = _admin_login(Client(), staff.username, "wrong")
        locked_again = _admin_login(Client(), staff.username, PASSWORD)
        clock[0] += 60
        after_a_quiet_minute = _admin_login(Client(), staff.username, PASSWORD)
    # then
    assert (locked.status_code, locked["Retry-After"]) == (HTTPStatus.TOO_MANY_REQUESTS, "20")
    assert (still_locked.status_code, still_locked["Retry-After"]) == (HTTPStatus.TOO_MANY_REQUESTS, "1")
    assert one_more_failure.status_code == HTTPStatus.OK  # the form again, with its error
    assert (locked_again.status_code, locked_again["Retry-After"]) == (HTTPStatus.TOO_MANY_REQUESTS, "20")
    assert after_a_quiet_minute.status_code == HTTPStatus.FOUND


@pytest.mark.usefixtures("login_rate")
@pytest.mark.django_db(transaction=True)
def test_failed_logins_sent_side_by_side_all_count(settings, shared_redis):
    """Three wrong passwords posted at the same moment, each read the counter before any was
    counted: all three count (the limit is 3), so the right password is refused next."""
    # given
    settings.CACHES = shared_redis
    staff = UserFactory(is_staff=True)
    together = threading.Barrier(3, timeout=10)
    read = FailOpenCache.get

    def read_together(self, key, *args, **kwargs):
        # Every post reads its counter, then waits for the others to have read theirs.
        value = read(self, key, *args, **kwargs)
        if "login" in key:
            together.wait()
        return value

    try:
        with mock.patch.object(FailOpenCache, "get", read_together), ThreadPoolExecutor(3) as pool:
            # when
            failures = list(pool.map(lambda _: _admin_login(Client(), staff.username, "wrong"), range(3)))
        after = _admin_login(Client(), staff.username, PASSWORD)
    finally:
        caches["default"].close()
    # then
    assert [response.status_code for response in failures] == [HTTPStatus.OK] * 3
    assert after.status_code == HTTPStatus.TOO_MANY_REQUESTS


# --- Who the caller is: forwarding headers ---------------------------------------------------


@pytest.fixture
def behind_a_load_balancer(settings):
    # The load balancer's subnet, as TRUSTED_PROXIES=10.0.0.0/24 would configure it.
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/24"),)


def _login_from(username: str, password: str, *, peer: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Client().post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.mark.usefixtures("login_rate")
def test_a_made_up_forwarded_for_buys_no_fresh_login_counter():
    """Without trusted proxies X-Forwarded-For is ignored: a throttled client stays throttled."""
    # given
    staff = UserFactory(is_staff=True)
    for _ in range(3):
        _login_from(staff.username, "wrong", peer="203.0.113.7")
    # when
    spoofed = _login_from(staff.username, PASSWORD, peer="203.0.113.7", forwarded_for="198.51.100.1")
    # then
    assert spoofed.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.usefixtures("login_rate", "behind_a_load_balancer")
def test_behind_a_trusted_proxy_the_client_is_the_hop_the_proxy_appended():
    """Through the load balancer each client has its own counter, and a forged prefix changes nothing."""
    # given: three failures of one client, arriving through two different balancer nodes
    staff = UserFactory(is_staff=True)
    for node in ("10.0.0.5", "10.0.0.6", "10.0.0.5"):
        _login_from(staff.username, "wrong", peer=node, forwarded_for="203.0.113.7")
    # when
    same_client = _login_from(staff.username, PASSWORD, peer="10.0.0.6", forwarded_for="203.0.113.7")
    forged_prefix = _login_from(
        staff.username, PASSWORD, peer="10.0.0.5", forwarded_for="198.51.100.1, 203.0.113.7"
    )
    other_client = _login_from(staff.username, PASSWORD, peer="10.0.0.5", forwarded_for="198.51.100.2")
    # then
    assert same_client.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert forged_prefix.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_client.status_code == HTTPStatus.FOUND


@pytest.mark.usefixtures("login_rate", "behind_a_load_balancer")
def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    """A client outside TRUSTED_PROXIES that sends X-Forwarded-For is counted under its own address."""
    staff = UserFactory(is_staff=True)
    for fake in ("198.51.100.1", "198.51.100.2", "10.0.0.5"):
        _login_from(staff.username, "wrong", peer="203.0.113.7", forwarded_for=fake)
    assert (
        _login_from(staff.username, PASSWORD, peer="203.0.113.7").status_code == HTTPStatus.TOO_MANY_REQUESTS
    )


def test_the_anonymous_api_limit_ignores_a_made_up_forwarded_for(api_client):
    """An anonymous API caller cannot reset THROTTLE_ANON by sending a new X-Forwarded-For each time."""
    with mock.patch.object(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min"}):
        statuses = [
            api_client.get(
                "/api/schema/", HTTP_ACCEPT="application/json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
            ).status_code
            for n in range(3)
        ]
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


# --- Which account: every spelling of a name counts against it --------------------------------


@pytest.mark.usefixtures("login_rate")
@pytest.mark.parametrize(
    "spelling", [FULLWIDTH_ACCEPTADMIN, "áccéptádmin", "ACCEPTADMIN", "accept\u200badmin"]
)
def test_another_spelling_of_a_throttled_name_is_throttled_too(spelling):
    """Once an account is throttled, a variant of its name (width, accents, case, invisible) is too."""
    # given
    UserFactory(username="acceptadmin", is_staff=True)
    for _ in range(3):
        _login_from("acceptadmin", "wrong", peer="203.0.113.7")
    # when
    response = _login_from(spelling, PASSWORD, peer="203.0.113.7")
    # then
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.usefixtures("login_rate")
def test_failures_under_variants_add_up_for_the_account():
    """Three failures under three spellings use up the account's limit: the exact name is throttled."""
    UserFactory(username="acceptadmin", is_staff=True)
    for spelling in ("AcceptAdmin", "áccéptádmin", FULLWIDTH_ACCEPTADMIN):
        _login_from(spelling, "wrong", peer="203.0.113.7")
    assert (
        _login_from("acceptadmin", PASSWORD, peer="203.0.113.7").status_code == HTTPStatus.TOO_MANY_REQUESTS
    )
