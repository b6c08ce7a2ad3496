"""Area scopes: which Areas a caller may see and change, and the access cache behind them.

A user's scope is the union of the areas granted to them and to their groups
(``crm.models.AreaGrant``); a superuser sees every area, an inactive or anonymous user none,
and so does a user without a grant (fail closed). ``AreaScope.ALL`` also sees rows whose area
is a legacy spelling (``france``, ``France ``): those belong to no area, so a scope of named
areas never matches them.

The access cache: what a user may do (their permissions, their groups and their areas) is
read from the database once and then kept in Django's cache, so a request costs no
permission or grant query; an API token's entry holds its user and that access too, so a
token request reads no token, user or permission table (crm.authentication). Every
change that can alter someone's access (a grant saved or deleted, a user saved or deleted,
group membership, user or group permissions, a group or a permission deleted, an API token
saved or deleted) ends the current *generation* as crm/report_cache.py does
(crm/generations.py: at once, and at commit unless the database cache commits with the
data); an entry of an older generation is never used. The generation lives in the same
cache as the entries, so with a shared cache (the database cache, Redis) a change reaches
every worker on its next request. ``ACCESS_CACHE_SECONDS`` bounds how long a change made
directly in the database, past the service, goes unseen: a token deleted or a user
deactivated in SQL keeps working that long.

Django's own ``user.has_perm()`` reads the same entry: crm.authentication.ExactUsernameBackend
fills ModelBackend's per-object permission caches from it, so DRF's permission classes and
the admin use it alike, for token and session users.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from django.conf import settings
from django.db.models import Q, Value

from .cache import RateStep
from .choices import ALL_AREAS, Area
from .generations import Generation

T = TypeVar("T")


@dataclass(frozen=True)
class AreaScope:
    """The areas a caller may see: ``AreaScope.ALL``, or a set of Area values (maybe empty).

    ``granted`` is None for ALL. Comparison is byte for byte: ``france`` is not ``France``.
    """

    granted: frozenset[str] | None

    ALL: ClassVar["AreaScope"]
    NONE: ClassVar["AreaScope"]

    def __post_init__(self):
        if self.granted is not None:
            unknown = sorted(area for area in self.granted if area not in Area.values)
            if unknown:
                raise ValueError(f"unknown area {unknown[0]!r}; expected one of: {', '.join(Area.values)}")
            # Plain strings: the enum members hash alike, but a plain set pickles small.
            object.__setattr__(self, "granted", frozenset(str(area) for area in self.granted))

    @classmethod
    def of(cls, areas) -> "AreaScope":
        """The scope of ``areas`` (Area values); ``all`` among them makes it ALL."""
        areas = set(areas)
        if ALL_AREAS in areas:
            return cls.ALL
        return cls(frozenset(areas))

    @property
    def is_all(self) -> bool:
        return self.granted is None

    @property
    def areas(self) -> tuple[str, ...]:
        """The granted areas, sorted; for ALL the five Area values."""
        return tuple(sorted(Area.values if self.granted is None else self.granted))

    def allows(self, area) -> bool:
        """Whether a row of ``area`` is in scope: every row for ALL, else exactly a granted area."""
        return self.granted is None or (isinstance(area, str) and str(area) in self.granted)

    def customer_q(self, prefix: str = "") -> Q:
        """Rows whose customer area is in scope; ``prefix`` leads to the customer ("customer__").

        Q() for ALL (the query stays exactly as it was); otherwise byte-exact membership
        (``exactly_in``), which cannot match anything when no area is granted.
        """
        if self.granted is None:
            return Q()
        return Q(**{f"{prefix}area__exactly_in": sorted(self.granted)})

    def opportunity_q(self) -> Q:
        """Opportunities by their customer's area, as the list's ``area`` filter says it
        (crm.filters): the join to ``customer`` that opportunity_page_fetch keeps index-backed."""
        return self.customer_q(prefix="customer__")

    def cache_key(self) -> str:
        """A short text naming the scope, for caches keyed by scope: ``all``, ``none`` or ``France+UK``."""
        if self.granted is None:
            return ALL_AREAS
        return "+".join(sorted(self.granted)) or "none"

    def __repr__(self) -> str:
        return f"AreaScope({self.cache_key()})"


AreaScope.ALL = AreaScope(None)
AreaScope.NONE = AreaScope(frozenset())


# --- The access cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What one user may do, as ModelBackend would compute it, and their groups and areas."""

    user_perms: frozenset[str]
    group_perms: frozenset[str]
    groups: tuple[str, ...]
    scope: AreaScope


_GENERATION = Generation("crm:access:generation")


def user_access(user) -> Access:
    """``user``'s access from the cache, computed (one query) when anything changed since.

    Kept on the user object too, so one request asks the cache once.
    """
    access = _access_cached(user)
    user._crm_access = access
    return access


def scope_for(user) -> AreaScope:
    """The caller's areas: ALL for a superuser, none for an inactive or anonymous user, else
    the union of the user's own grants and their groups' (none without a grant)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return AreaScope.NONE
    if user.is_superuser:
        return AreaScope.ALL
    return access_of(user).scope


def access_of(user) -> Access:
    """The access this request already holds for ``user`` (its token's entry, or an earlier
    read), else ``user_access(user)``."""
    return getattr(user, "_crm_access", None) or user_access(user)


def _access_cached(user) -> Access:
    # The superuser flag is in the key: it decides the permissions (every one, for a superuser).
    return access_entry(f"crm:access:{user.pk}:{int(user.is_superuser)}", lambda: access_load(user))


def access_entry(key: str, compute: Callable[[], T], *, step: RateStep | None = None) -> T:
    """An entry of the access cache: ``compute()``, kept until access changes or for
    ``ACCESS_CACHE_SECONDS``; computed every time when that is 0. An exception from
    ``compute`` stores nothing.

    For what depends on who a user is and what they may do: the access itself, and the
    token lookup that carries it (crm.authentication), whose read may take the caller's
    rate-limit ``step`` with it (crm.generations.Generation.cached).
    """
    timeout = settings.ACCESS_CACHE_SECONDS
    if timeout <= 0:
        return compute()
    return _GENERATION.cached(key, timeout, compute, step=step)


def access_attach(user, access: Access) -> None:
    """Give ``user`` its access for this request, as ModelBackend's per-object caches hold it:
    has_perm() and scope_for() then ask neither the cache nor the database."""
    user._crm_access = access
    user._user_perm_cache = set(access.user_perms)
    user._group_perm_cache = set(access.group_perms)


def access_load(user) -> Access:
    """Permissions, groups and grants of ``user`` in one query (a UNION ALL of four parts)."""
    from django.contrib.auth.models import Group, Permission

    from .models import AreaGrant

    def perms(queryset, kind):
        return queryset.order_by().values_list(Value(kind), "content_type__app_label", "codename")

    own = Permission.objects.all() if user.is_superuser else Permission.objects.filter(user=user)
    parts = [
        perms(own, "u"),
        Group.objects.filter(user=user).order_by().values_list(Value("r"), "name", Value("")),
        AreaGrant.objects.filter(user=user).order_by().values_list(Value("a"), "area", Value("")),
        AreaGrant.objects.filter(group__user=user).order_by().values_list(Value("a"), "area", Value("")),
    ]
    if not user.is_superuser:
        parts.append(perms(Permission.objects.filter(group__user=user), "g"))
    rows = list(parts[0].union(*parts[1:], all=True))
    user_perms = {f"{app}.{codename}" for kind, app, codename in rows if kind == "u"}
    group_perms = user_perms if user.is_superuser else {f"{a}.{c}" for k, a, c in rows if k == "g"}
    # Only the stored values the vocabulary knows count; anything else grants nothing.
    areas = {area for kind, area, _ in rows if kind == "a" and area in (ALL_AREAS, *Area.values)}
    return Access(
        user_perms=frozenset(user_perms),
        group_perms=frozenset(group_perms),
        groups=tuple(sorted({name for kind, name, _ in rows if kind == "r"})),
        scope=AreaScope.of(areas),
    )


def access_cache_invalidate() -> None:
    """End the generation for reads later in this transaction and for entries other requests
    load meanwhile from the data as it was before (crm.generations.Generation.invalidate)."""
    _GENERATION.invalidate()


# --- Invalidation: every change that can alter someone's access -------------------------------


def _on_change(sender, **kwargs):
    access_cache_invalidate()


def _on_user_saved(sender, update_fields=None, **kwargs):
    # A login stamps last_login and nothing else: no one's access changes.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    access_cache_invalidate()


def _on_m2m(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        access_cache_invalidate()


def connect_signals() -> None:
    """Called once from CrmConfig.ready."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from rest_framework.authtoken.models import Token, TokenProxy

    from .models import AreaGrant

    User = get_user_model()
    # Tokens: the cache holds who a token authenticates (crm.authentication). The admin
    # deletes through the proxy model, whose signals name the proxy as their sender.
    for model in (AreaGrant, Token, TokenProxy):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"crm.access.save.{model.__name__}")
    for model in (AreaGrant, Token, TokenProxy, User, Group, Permission):
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"crm.access.delete.{model.__name__}")
    post_save.connect(_on_user_saved, sender=User, dispatch_uid="crm.access.save.user")
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"crm.access.m2m.{through.__name__}")
