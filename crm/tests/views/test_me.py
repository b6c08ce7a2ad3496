"""GET /api/me: the caller's username, roles, permissions and areas."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.services import EDITORS_GROUP, READERS_GROUP, crm_groups_ensure
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = reverse("api:me")
READER_PERMISSIONS = [
    "crm.view_change",
    "crm.view_customer",
    "crm.view_opportunity",
    "crm.view_revenueactual",
    "crm.view_revenuetarget",
]


def _as(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


def test_a_france_reader_sees_their_role_permissions_and_area(api_client):
    """A reader granted France: role reader, the readers' permissions, areas ["France"]."""
    user = UserFactory(username="jdupont", areas=["France"])
    user.groups.add(crm_groups_ensure()[READERS_GROUP])
    response = _as(api_client, user).get(ME)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "username": "jdupont",
        "roles": ["reader"],
        "permissions": READER_PERMISSIONS,
        "areas": ["France"],
    }


def test_an_editor_of_every_area_and_a_user_of_both_groups(api_client):
    """`all` answers "all"; a user in both groups has both roles, areas sorted."""
    groups = crm_groups_ensure()
    user = UserFactory(username="etl")
    user.groups.add(groups[EDITORS_GROUP], groups[READERS_GROUP])
    body = _as(api_client, user).get(ME).json()
    assert body["roles"] == ["reader", "editor"]
    assert body["areas"] == "all"
    assert "crm.add_opportunity" in body["permissions"]


def test_a_user_without_role_or_grant_may_ask(api_client):
    """No group, no grant: 200 with nothing, so a client can say why it sees no rows."""
    response = _as(api_client, UserFactory(username="new", areas=[])).get(ME)
    assert response.json() == {"username": "new", "roles": [], "permissions": [], "areas": []}


def test_a_superuser_holds_every_area(api_client):
    """A superuser sees every area whatever their grants."""
    body = _as(api_client, UserFactory(is_superuser=True, areas=[])).get(ME).json()
    assert body["areas"] == "all"
    assert "crm.view_customer" in body["permissions"]


def test_anonymous_is_401_and_an_unknown_parameter_is_400(api_client):
    """Without credentials 401; a query parameter the endpoint does not read is a 400 naming it."""
    assert api_client.get(ME).status_code == HTTPStatus.UNAUTHORIZED
    response = _as(api_client, UserFactory()).get(ME, {"verbose": "1"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["attr"] == "verbose"
