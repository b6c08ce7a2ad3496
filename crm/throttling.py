"""Rate limit on the two login forms (admin and /accounts/login/).

DRF's throttles cover the API; the login forms are plain Django views, so this middleware
counts failed attempts per client IP and username in the shared cache (rate THROTTLE_LOGIN,
DRF's "N/period" syntax). Only failures count (a successful login answers with a redirect),
so a user who logs in often is never locked out, while guessing passwords for one account
from one address stops after a few tries. Keying by IP *and* username keeps an attacker
from locking a real user out from elsewhere.
"""

import hashlib

from django.http import HttpResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

LOGIN_PATHS = frozenset({"/admin/login/", "/accounts/login/"})


class LoginRateThrottle(SimpleRateThrottle):
    scope = "login"

    def get_rate(self):
        # Read at call time, not import time, so the rate follows the settings.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view=None):
        username = request.POST.get("username", "").strip().lower()
        # Hashed: a username never lands in a cache key (or a cache table) in clear.
        ident = hashlib.sha256(f"{self.get_ident(request)}|{username}".encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def load(self, request) -> None:
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]

    def is_exhausted(self) -> bool:
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history[: self.num_requests], self.duration)


class LoginRateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or request.path not in LOGIN_PATHS:
            return self.get_response(request)
        throttle = LoginRateThrottle()
        throttle.load(request)
        if throttle.is_exhausted():
            wait = max(1, round(throttle.history[-1] + throttle.duration - throttle.now))
            response = HttpResponse(
                f"Too many failed login attempts. Retry in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
        response = self.get_response(request)
        if response.status_code != 302:
            throttle.record_failure()
        return response
