"""Area scopes (crm/scopes.py): the AreaScope value, scope_for, and the access cache behind them."""

import pickle
from http import HTTPStatus

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from crm.authentication import token_cache_key
from crm.choices import Area
from crm.models import AreaGrant, Customer
from crm.scopes import AreaScope, scope_for
from crm.services import READERS_GROUP, area_grants_set, crm_groups_ensure
from crm.tests.factories import CustomerFactory, UserFactory

FRANCE_UK = AreaScope(frozenset({Area.UK, Area.FRANCE}))


# --- The value --------------------------------------------------------------------------------
def test_all_allows_every_area_and_every_legacy_spelling():
    """ALL allows the five areas and rows of no area (``france``, ``France ``, anything)."""
    assert AreaScope.ALL.is_all
    assert all(AreaScope.ALL.allows(area) for area in [*Area.values, "france", "France ", "Austria", None])
    assert AreaScope.ALL.areas == tuple(sorted(Area.values))
    assert AreaScope.ALL.cache_key() == "all"


def test_named_areas_allow_exactly_those_byte_for_byte():
    """A scope of named areas allows each of them exactly, and no other spelling of them."""
    assert not FRANCE_UK.is_all
    assert FRANCE_UK.areas == ("France", "UK")
    assert FRANCE_UK.allows("France") and FRANCE_UK.allows(Area.UK)
    assert not any(FRANCE_UK.allows(area) for area in ["france", "France ", "FRANCE", "Germany", "uk", None])
    assert FRANCE_UK.cache_key() == "France+UK"
    assert AreaScope.of(["UK", "France"]) == FRANCE_UK


def test_an_empty_scope_allows_nothing():
    """No area granted: nothing is allowed (fail closed)."""
    assert AreaScope(frozenset()) == AreaScope.NONE
    assert AreaScope.NONE.areas == ()
    assert not any(AreaScope.NONE.allows(area) for area in [*Area.values, "france"])
    assert AreaScope.NONE.cache_key() == "none"


def test_an_unknown_area_cannot_make_a_scope():
    """AreaScope refuses an area outside the vocabulary rather than silently granting nothing."""
    with pytest.raises(ValueError, match="unknown area 'france'"):
        AreaScope(frozenset({"france"}))


def test_all_among_the_areas_makes_all():
    """AreaScope.of with ``all`` among the values is ALL."""
    assert AreaScope.of(["France", "all"]) is AreaScope.ALL


@pytest.mark.django_db
def test_customer_q_is_nothing_for_all_and_exact_membership_otherwise():
    """customer_q() adds no condition for ALL and filters byte-exact otherwise; empty matches nothing."""
    for cid, area in [(1, "France"), (2, "UK"), (3, "Germany"), (4, "France "), (5, "france")]:
        CustomerFactory(cid=cid, area=area)
    assert str(Customer.objects.filter(AreaScope.ALL.customer_q()).query) == str(Customer.objects.all().query)

    def cids(scope):
        return sorted(Customer.objects.filter(scope.customer_q()).values_list("cid", flat=True))

    assert cids(AreaScope.ALL) == [1, 2, 3, 4, 5]
    assert cids(FRANCE_UK) == [1, 2]
    assert cids(AreaScope.NONE) == []


@pytest.mark.django_db
def test_opportunity_q_filters_by_the_customer_area_as_the_list_filter_does():
    """opportunity_q() is the ``customer__area__exactly_in`` condition of the list's area filter."""
    assert FRANCE_UK.opportunity_q() == FRANCE_UK.customer_q(prefix="customer__")
    assert FRANCE_UK.opportunity_q().children == [("customer__area__exactly_in", ["France", "UK"])]
    assert AreaScope.ALL.opportunity_q() == AreaScope.ALL.customer_q()


# --- scope_for ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_scope_for_is_the_union_of_the_users_and_the_groups_grants():
    """A user's areas are their own grants and their groups' together."""
    group = Group.objects.create(name="UK team")
    area_grants_set(group=group, scope=AreaScope(frozenset({"UK"})))
    user = UserFactory(areas=["France"])
    user.groups.add(group)
    assert scope_for(user) == FRANCE_UK


@pytest.mark.django_db
def test_scope_for_superuser_inactive_anonymous_and_without_grants():
    """Superuser: ALL even without a grant; inactive, anonymous or without grant: nothing."""
    assert scope_for(UserFactory(is_superuser=True, areas=[])) == AreaScope.ALL
    assert scope_for(UserFactory(is_active=False)) == AreaScope.NONE
    assert scope_for(AnonymousUser()) == AreaScope.NONE
    assert scope_for(UserFactory(areas=[])) == AreaScope.NONE


@pytest.mark.django_db
def test_a_grant_of_all_and_one_area_is_all():
    """`all` from a group and France of one's own: every area."""
    group = Group.objects.create(name="everything")
    area_grants_set(group=group, scope=AreaScope.ALL)
    user = UserFactory(areas=["France"])
    user.groups.add(group)
    assert scope_for(user) == AreaScope.ALL


@pytest.mark.django_db
def test_a_stored_value_outside_the_vocabulary_grants_nothing():
    """A grant row holding another spelling (written past the service) gives no area."""
    user = UserFactory(areas=[])
    AreaGrant.objects.create(user=user, area="france")
    assert scope_for(user) == AreaScope.NONE


@pytest.mark.django_db
def test_a_grant_has_exactly_one_holder_and_is_unique():
    """The table refuses a grant to both a user and a group, or to neither, and a repeat."""
    from django.db import IntegrityError, transaction

    user = UserFactory(areas=["UK"])
    group = Group.objects.create(name="g")
    for holder in ({"user": user, "group": group}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            AreaGrant.objects.create(area="France", **holder)
    with pytest.raises(IntegrityError), transaction.atomic():
        AreaGrant.objects.create(user=user, area="UK")


# --- The access cache, through the API --------------------------------------------------------
def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def reader():
    group = crm_groups_ensure()[READERS_GROUP]
    user = UserFactory(areas=["France", "UK"])
    user.groups.add(group)
    return user


ME = reverse("api:me")
CUSTOMERS = reverse("api:customer-list")


def _queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return response, [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_a_warm_request_asks_the_database_nothing_before_its_own_work(reader, django_assert_num_queries):
    """The first request loads the token with its user, then their access; the next asks neither."""
    client = _token_client(reader)
    with django_assert_num_queries(2):  # the token with its user, the access (one UNION query)
        client.get(ME)
    with django_assert_num_queries(0):
        response = client.get(ME)
    assert response.json()["areas"] == ["France", "UK"]
    with django_assert_num_queries(1):  # the customers
        assert client.get(CUSTOMERS).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Token, TokenProxy], ids=["token", "the admin's token proxy"])
def test_a_deleted_token_is_refused_on_the_next_request(reader, model):
    """Deleting a token ends its cached entry at once, also as the admin deletes it (the proxy)."""
    client = _token_client(reader)
    assert client.get(ME).status_code == HTTPStatus.OK
    model.objects.get(user=reader).delete()
    response = client.get(ME)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["detail"] == "Invalid token."


# Committed: a transaction that changed access keeps its entries to itself (crm/generations.py).
@pytest.mark.django_db(transaction=True)
def test_the_cache_keeps_neither_the_token_nor_the_password_hash(reader):
    """The entry is filed under a digest of the key and leaves the password out; the
    password is still there for whoever asks the user object for it."""
    client = _token_client(reader)
    key = Token.objects.get(user=reader).key
    assert client.get(ME).status_code == HTTPStatus.OK
    _generation, entry = cache.get(token_cache_key(key))
    stored = pickle.dumps(entry)
    assert key.encode() not in stored
    assert key not in token_cache_key(key)
    assert reader.password.encode() not in stored
    token = entry.token(key)
    assert (token.key, token.user.pk, token.user.username) == (key, reader.pk, reader.username)
    assert token.user.check_password("correct-horse-battery-staple")


@pytest.mark.django_db
def test_without_the_access_cache_every_request_reads_the_token(reader, settings, django_assert_num_queries):
    """ACCESS_CACHE_SECONDS=0: the token and the access are read on every request, as without a cache."""
    settings.ACCESS_CACHE_SECONDS = 0
    client = _token_client(reader)
    for _ in range(2):
        with django_assert_num_queries(2):  # the token with its user, the access
            assert client.get(ME).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_grant_removed_takes_effect_on_the_next_request(reader):
    """Removing a grant invalidates every cached entry: the very next request has the new areas."""
    client = _token_client(reader)
    assert client.get(ME).json()["areas"] == ["France", "UK"]
    AreaGrant.objects.get(user=reader, area="UK").delete()
    assert client.get(ME).json()["areas"] == ["France"]
    area_grants_set(user=reader, scope=AreaScope.ALL)
    assert client.get(ME).json()["areas"] == "all"


@pytest.mark.django_db
def test_a_permission_removed_takes_effect_on_the_next_request(reader):
    """Taking crm.view_customer from the readers' group (or the user from the group) is seen at once."""
    client = _token_client(reader)
    assert client.get(CUSTOMERS).status_code == HTTPStatus.OK
    group = Group.objects.get(name=READERS_GROUP)
    view_customer = Permission.objects.get(content_type__app_label="crm", codename="view_customer")
    group.permissions.remove(view_customer)
    assert client.get(CUSTOMERS).status_code == HTTPStatus.FORBIDDEN
    group.permissions.add(view_customer)
    assert client.get(CUSTOMERS).status_code == HTTPStatus.OK
    reader.groups.remove(group)
    assert client.get(CUSTOMERS).status_code == HTTPStatus.FORBIDDEN
    reader.user_permissions.add(view_customer)
    assert client.get(CUSTOMERS).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_deleted_group_and_a_deactivated_user_are_seen_at_once(reader):
    """Deleting the group takes its permissions; deactivating the user refuses the token."""
    client = _token_client(reader)
    assert client.get(ME).json()["roles"] == ["reader"]
    Group.objects.get(name=READERS_GROUP).delete()
    assert client.get(ME).json()["roles"] == []
    assert client.get(CUSTOMERS).status_code == HTTPStatus.FORBIDDEN
    reader.is_active = False
    reader.save()
    assert client.get(ME).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_deleting_a_user_or_a_group_deletes_their_grants():
    """A holder's delete takes its grants with it, on MySQL too (which cannot defer the one-holder check)."""
    group = Group.objects.create(name="France team")
    area_grants_set(scope=AreaScope.of(["France"]), group=group)
    user = UserFactory(areas=["UK", "Germany"])
    kept = UserFactory(areas=["UK"])
    assert AreaGrant.objects.count() == 4
    user.delete()
    group.delete()
    assert list(AreaGrant.objects.values_list("user", "group", "area")) == [(kept.pk, None, "UK")]


@pytest.mark.django_db
def test_a_login_does_not_invalidate_the_cache(reader, client, django_assert_num_queries):
    """A session login stamps last_login only; other users' entries stay warm."""
    UserFactory(username="staff", is_staff=True)
    other = _token_client(reader)
    other.get(ME)
    client.login(username="staff", password="correct-horse-battery-staple")
    with django_assert_num_queries(0):
        other.get(ME)


@pytest.mark.django_db
def test_has_perm_reads_the_cache_for_session_users_too(reader, client, django_assert_num_queries):
    """A session user's has_perm reads the same entry: the admin index asks no permission query when warm."""
    reader.is_staff = True
    reader.save()
    client.force_login(reader)
    client.get("/admin/")
    captured = CaptureQueriesContext(connection)
    with captured:
        assert client.get("/admin/").status_code == HTTPStatus.OK
    assert not any("auth_permission" in q["sql"] for q in captured.captured_queries)
