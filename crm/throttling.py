"""Rate limits: who a caller is (its address), and the failed-login limit on the login forms.

The client's address is REMOTE_ADDR, the peer that opened the connection. Only when that peer
is one of TRUSTED_PROXIES (default: none) is X-Forwarded-For read, from the right: each hop a
trusted proxy appended is taken until the first address that is not a trusted proxy, which is
the client. Anything to the left of it was written by the client and is never believed, so a
made-up X-Forwarded-For cannot buy a fresh counter. DRF's own default would believe the whole
header; every throttle here uses ``client_ip`` instead.

DRF's throttles cover the API; the login forms are plain Django views, so a middleware counts
failed attempts per client address and account in the shared cache (rate THROTTLE_LOGIN, DRF's
"N/period" syntax), and every post of the password-reset form (THROTTLE_PASSWORD_RESET).
Only failed logins count (a successful login answers with a redirect), so a user
who logs in often is never locked out, while guessing passwords for one account from one
address stops after a few tries. Keying by address *and* account keeps an attacker from locking
a real user out from elsewhere.
"""

import dataclasses
import hashlib
import ipaddress
import math
import unicodedata

from django.conf import settings
from django.http import HttpResponse
from rest_framework import throttling
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings

from .cache import RateStep, cell_rate_ahead, cell_rate_step


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted_proxy(address) -> bool:
    return address is not None and any(address in network for network in settings.TRUSTED_PROXIES)


def client_ip(request) -> str:
    """The caller's address: REMOTE_ADDR, or the first untrusted hop behind trusted proxies."""
    client = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(_ip(client)):
        return client
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        client = hop
        if not _is_trusted_proxy(_ip(hop)):
            break
    return client


class ClientIpMixin:
    def get_ident(self, request):
        return client_ip(request)


class CellRateMixin:
    """A DRF rate ("N/period") kept as one number per caller, not a list of every request time.

    DRF's SimpleRateThrottle stores the time of each request in the window and reads, filters
    and writes that list back on every request: at THROTTLE_USER's 6000/min a busy caller's
    entry is 6000 floats (54 KB pickled) moved twice per request, a cost that grows with the
    rate. This is the generic cell rate algorithm (a leaky bucket): the entry is the time the
    caller's bucket will next be empty. Each request adds period/N to it; a request that
    would take it more than one period ahead is refused. N requests pass at once, as with
    DRF, and then one per period/N, instead of none until the oldest leaves the window; the
    429's Retry-After is the time until the next one would pass. On Redis the step is one
    atomic script, on the database cache on MySQL one statement (crm.cache.cell_rate_step):
    one round trip, and concurrent requests of one caller on several workers are counted one
    after the other.
    """

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        step = getattr(request, "_crm_rate_step", None)
        if step is not None and step.key == self.key and step.ahead is not None:
            ahead = step.ahead  # taken with the token's read (token_rate_step)
        else:
            ahead = cell_rate_step(self.cache, self.key, **self.step_arguments())
        if ahead > self.duration:
            self.retry_after = ahead - self.duration
            return False
        return True

    def step_arguments(self) -> dict:
        return {"now": self.timer(), "interval": self.duration / self.num_requests, "period": self.duration}

    def wait(self):
        return getattr(self, "retry_after", None)


class AnonRateThrottle(ClientIpMixin, CellRateMixin, throttling.AnonRateThrottle):
    """Anonymous API calls per client address (THROTTLE_ANON)."""


class UserRateThrottle(ClientIpMixin, CellRateMixin, throttling.UserRateThrottle):
    """API calls per API token (a user has at most one) or per user signed in by session
    (THROTTLE_USER); per client address before sign-in.

    Per token, so that the bucket is known from the request's credentials before the token is
    read: on Redis the token's read and the bucket's step are then one round trip
    (``token_rate_step``), not two: the call's only round trip to the cache.
    """

    def get_cache_key(self, request, view):
        if isinstance(request.auth, Token):
            return self.token_cache_key(request.auth.key)
        return super().get_cache_key(request, view)

    def token_cache_key(self, token_key: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": f"token:{token_digest(token_key)}"}


def token_digest(token_key: str) -> str:
    """What an API token is known by in the cache (its access entry, its rate-limit bucket):
    a digest, so the cache never holds a usable key."""
    return hashlib.sha256(token_key.encode()).hexdigest()


def token_rate_step(request, token_key: str) -> RateStep | None:
    """The step of this token's rate-limit bucket that the view's throttle will take, for the
    token's read to take it in the same round trip (crm.cache.get_many_and_step); the throttle
    then uses its result. None when the view counts no calls per token.

    The step is taken before permissions are checked (DRF throttles after them), so a call
    refused 403 counts too.
    """
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None:
        return None
    for throttle in view.get_throttles():
        if isinstance(throttle, UserRateThrottle) and throttle.rate is not None:
            step = RateStep(key=throttle.token_cache_key(token_key), **throttle.step_arguments())
            request._crm_rate_step = step
            return step
    return None


def login_account_key(username: str) -> str:
    """One key for every spelling a MySQL collation takes for the same user name.

    Compatibility forms folded (fullwidth letters U+FF21... are ASCII letters), accents and
    invisible format characters (U+200B) dropped, case folded, surrounding spaces removed:
    ``ÁccéptAdmin``, a fullwidth ``ACCEPTadmin`` and ``acceptadmin `` all count against
    ``acceptadmin``. The login itself is exact (crm.authentication.ExactUsernameBackend); this
    only makes every try count.
    """
    decomposed = unicodedata.normalize("NFKD", username)
    kept = (
        char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    return "".join(kept).casefold().strip()


class FormRateThrottle(ClientIpMixin, throttling.SimpleRateThrottle):
    """Counts posts of one form per client address and account, in the shared cache.

    The bucket of the API's throttles (CellRateMixin), checked before the post and stepped
    after it, so that a login counts only once it has failed: N posts pass, then one every
    period/N. The step is atomic (crm.cache.cell_rate_step), so posts sent side by side are
    all counted; a list of times read and written back, as DRF keeps, lost all but one of
    the posts that read it at the same moment, and with them the limit on guessing in parallel.
    """

    def __init__(self, scope: str, field: str):
        self.scope, self.field = scope, field
        super().__init__()

    def get_rate(self):
        # Read at call time, not import time, so the rate follows the settings.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view=None):
        account = login_account_key(request.POST.get(self.field, ""))
        # Hashed: a username or address never lands in a cache key (or a cache table) in clear.
        ident = hashlib.sha256(f"{self.get_ident(request)}|{account}".encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def load(self, request) -> None:
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        self.interval = self.duration / self.num_requests

    def retry_after(self) -> float | None:
        """Seconds until one more post would pass; None when it passes now."""
        ahead = cell_rate_ahead(self.cache, self.key, now=self.now) + self.interval
        return ahead - self.duration if ahead > self.duration else None

    def record(self) -> None:
        # Posts that passed the check together each count, even past the limit: the step is
        # refused (not stored) only past a second period, which they cannot reach.
        cell_rate_step(
            self.cache, self.key, now=self.timer(), interval=self.interval, period=2 * self.duration
        )


@dataclasses.dataclass(frozen=True)
class FormLimit:
    scope: str  # the rate's name in DEFAULT_THROTTLE_RATES
    field: str  # the form field naming the account
    failures_only: bool  # count only answers that are not the success redirect


# The login forms count failures (THROTTLE_LOGIN); the password-reset form counts every post
# (THROTTLE_PASSWORD_RESET): each one may send a mail, and its answer never says whether it did.
FORM_LIMITS = {
    "/admin/login/": FormLimit("login", "username", failures_only=True),
    "/accounts/login/": FormLimit("login", "username", failures_only=True),
    "/accounts/password_reset/": FormLimit("password_reset", "email", failures_only=False),
}


class FormRateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = FORM_LIMITS.get(request.path) if request.method == "POST" else None
        if limit is None:
            return self.get_response(request)
        throttle = FormRateThrottle(limit.scope, limit.field)
        throttle.load(request)
        wait = throttle.retry_after()
        if wait is not None:
            wait = max(1, math.ceil(wait))
            response = HttpResponse(
                f"Too many attempts. Retry in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
        response = self.get_response(request)
        if not limit.failures_only or response.status_code != 302:
            throttle.record()
        return response
