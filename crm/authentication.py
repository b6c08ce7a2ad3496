"""Credentials compared exactly: API tokens, session keys and user names.

MySQL's default collations (utf8mb4_unicode_ci, utf8mb4_0900_ai_ci) compare case-, accent-
and trailing-space-insensitively, so a plain ``get(key=...)`` on MySQL finds a row for
``KEY``, ``kéy`` or ``key\u00a0``. A credential is not a word: every check here confirms in
Python, byte for byte, what the database lookup found, and refuses malformed values before
any query.
"""

import dataclasses
import datetime
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.db import DEFAULT_DB_ALIAS, router
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .scopes import Access, access_attach, access_entry, access_load, user_access
from .sql import CompiledLookup
from .throttling import token_digest, token_rate_step

# rest_framework.authtoken.models.Token.generate_key: 20 random bytes, hex-encoded.
TOKEN_KEY = re.compile(r"[0-9a-f]{40}")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, matching the key exactly, from the access cache when warm.

    Anything but 40 lower-case hex characters is refused without a query; a key the database
    returns for a look-alike (another case, an accent, padding) is refused by a constant-time
    comparison with the key that was sent. A key found and checked is kept in the access
    cache (crm/scopes.py) with its user and their access, under a digest of the key: the next
    request with it asks the cache once and reads no token, user or permission table, until a
    token, user or access change ends the generation (or ``ACCESS_CACHE_SECONDS`` pass). On
    Redis that one read also steps the token's rate-limit bucket (crm.throttling.token_rate_step).
    """

    request = None

    def authenticate(self, request):
        # DRF makes an authenticator per request: the request is kept for the rate step.
        self.request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        if not TOKEN_KEY.fullmatch(key):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        step = token_rate_step(self.request, key) if self.request is not None else None
        entry = access_entry(token_cache_key(key), lambda: _TokenEntry.of(_token_checked(key)), step=step)
        token = entry.token(key)
        return token.user, token


def token_cache_key(key: str) -> str:
    """The access-cache key of an API token."""
    return f"crm:token:{token_digest(key)}"


def _token_checked(key: str) -> Token:
    # DRF's own checks and messages, with the lookup compiled once (token_with_user). A
    # failure raises, so access_entry stores nothing for it.
    token = token_with_user(key)
    if token is None or not constant_time_compare(token.key, key):
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    return token


@dataclasses.dataclass(frozen=True)
class _TokenEntry:
    """What a checked token authenticates, as the access cache keeps it: the user's fields
    (not the password hash, which stays in the database and is read if anything asks for it),
    when the token was created, and the user's access."""

    user_fields: tuple[tuple[str, object], ...]
    created: datetime.datetime
    access: Access

    @classmethod
    def of(cls, token: Token) -> "_TokenEntry":
        user = token.user
        fields = tuple(
            (field.attname, getattr(user, field.attname))
            for field in user._meta.concrete_fields
            if field.attname != "password"
        )
        return cls(user_fields=fields, created=token.created, access=access_load(user))

    def token(self, key: str) -> Token:
        """The token and its user as the ORM would build them, the user's access attached."""
        alias = router.db_for_read(Token) or DEFAULT_DB_ALIAS
        names, values = zip(*self.user_fields, strict=True)
        # from_db takes the fields in model order and defers the rest (the password).
        user = get_user_model().from_db(alias, names, values)
        token = Token.from_db(alias, ("key", "user_id", "created"), (key, user.pk, self.created))
        token.user = user
        access_attach(user, self.access)
        return token


# The token lookup, compiled once; each request runs it with its own key.
_TOKEN_LOOKUP = CompiledLookup(Token)
_KEY_PLACEHOLDERS = ("0" * 40, "1" * 40)


def token_with_user(key: str) -> Token | None:
    """``Token.objects.select_related("user").get(key=key)``, or None, from SQL compiled once.

    The ORM compiles that query anew on every request, 0.4 ms of the lookup's 1 ms where
    the query itself takes 0.15 ms (crm.sql.CompiledLookup).
    """
    return _TOKEN_LOOKUP.get(
        "token",
        lambda key: Token.objects.select_related("user").filter(key=key),
        key,
        placeholders=_KEY_PLACEHOLDERS,
    )


class ExactUsernameBackend(ModelBackend):
    """Django's model backend, logging in only the user whose name is exactly the one typed.

    On MySQL ``get_by_natural_key("ÁdMin")`` finds ``admin``; the password check alone would
    then let any spelling of a name sign in as that user (and escape a limit counted per
    spelling). The lookup's result is compared with the name given, byte for byte.

    Permissions come from the access cache (crm/scopes.py), not two queries per request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or user.get_username() != username:
            return None
        return user

    def _get_permissions(self, user_obj, obj, from_name):
        # ModelBackend asks the database twice per request (user and group permissions) unless
        # the user object already holds them: fill both from the access cache (crm/scopes.py).
        # A cache the caller dropped (Django's way of asking for a fresh read) is refilled
        # from the cache, which a change has invalidated.
        if user_obj.is_active and not user_obj.is_anonymous and obj is None:
            caches = ("_user_perm_cache", "_group_perm_cache")
            missing = {name for name in caches if not hasattr(user_obj, name)}
            if missing:
                access = user_access(user_obj)
                if "_user_perm_cache" in missing:
                    user_obj._user_perm_cache = set(access.user_perms)
                if "_group_perm_cache" in missing:
                    user_obj._group_perm_cache = set(access.group_perms)
        return super()._get_permissions(user_obj, obj, from_name)


class SessionStore(db.SessionStore):
    """Database sessions that accept only the keys Django itself generates.

    Django's keys are 32 characters of ``[a-z0-9]``; the base class accepts any 8 or more,
    so on MySQL an upper-cased cookie would find the same session row.
    """

    def _validate_session_key(self, key):
        return isinstance(key, str) and len(key) == 32 and all(char in VALID_KEY_CHARS for char in key)
