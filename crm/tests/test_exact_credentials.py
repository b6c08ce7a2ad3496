"""Credentials are compared byte for byte, whatever the database's collation.

MySQL's default collations take ``KEY``, ``kéy`` and ``key\u00a0`` for ``key``. A token, a
session cookie or a user name that is only *like* the real one must open nothing. These tests
run on MySQL, where the collation would otherwise match; SQLite compares exactly anyway.
"""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.authentication import token_with_user
from crm.services import READER_PERMISSIONS
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
# "ACCEPTadmin" in fullwidth forms (U+FF21 ...), as the hostile run typed it.
FULLWIDTH_ACCEPTADMIN = "".join(chr(ord(char) + 0xFEE0) for char in "ACCEPTadmin")


def _with_last_char_fullwidth(text: str) -> str:
    # "a" (U+0061) -> U+FF41 FULLWIDTH LATIN SMALL LETTER A; digits likewise: the collation folds them back.
    return text[:-1] + chr(ord(text[-1]) + 0xFEE0)


def _with_first_letter_accented(text: str) -> str:
    index = next(i for i, char in enumerate(text) if char in "abcdef")
    return (
        text[:index]
        + {"a": "á", "b": "ḃ", "c": "ć", "d": "ď", "e": "é", "f": "ḟ"}[text[index]]
        + text[index + 1 :]
    )


LOOK_ALIKES = {
    "upper case": str.upper,
    "an accented letter": _with_first_letter_accented,
    "a trailing no-break space": lambda key: key + "\u00a0",
    "the last character in fullwidth form": _with_last_char_fullwidth,
}


@pytest.fixture
def reader_token():
    user = UserFactory(permissions=[f"crm.{codename}" for codename in READER_PERMISSIONS])
    return Token.objects.create(user=user).key


def _customers_with(header: str):
    client = APIClient()
    # A client sends the header's UTF-8 bytes; WSGI hands them on as Latin-1 text.
    client.credentials(HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    return client.get(reverse("api:customer-list"), HTTP_ACCEPT="application/json")


@pytest.mark.mysql
@pytest.mark.parametrize("variant", LOOK_ALIKES)
def test_a_token_that_only_looks_like_a_valid_one_is_401(reader_token, variant):
    """The exact key opens the API; the same key altered in case, accent, padding or width does not."""
    assert _customers_with(f"Token {reader_token}").status_code == HTTPStatus.OK
    response = _customers_with(f"Token {LOOK_ALIKES[variant](reader_token)}")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "authentication_failed", "detail": "Invalid token.", "attr": None}],
    }


@pytest.mark.parametrize("key", ["a" * 39, "a" * 41, "g" * 40, "A" * 40])
def test_a_token_of_the_wrong_form_is_refused_without_a_query(reader_token, key, django_assert_num_queries):
    """Anything but 40 lower-case hex characters is refused before the token table is read."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(0):
        response = client.get(reverse("api:customer-list"), HTTP_ACCEPT="application/json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.mysql
def test_a_session_cookie_in_another_case_is_no_session():
    """A signed-in session opens the admin; the same cookie upper-cased is a stranger's visit."""
    # given
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/admin/").status_code == HTTPStatus.OK
    # when
    impostor = Client()
    impostor.cookies[settings.SESSION_COOKIE_NAME] = key.upper()
    response = impostor.get("/admin/")
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


def _login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.mysql
@pytest.mark.parametrize("spelling", [FULLWIDTH_ACCEPTADMIN, "áccéptádmin", "ACCEPTADMIN"])
def test_only_the_exact_user_name_signs_in(spelling):
    """The right password under another spelling of the name (width, accents, case) fails.

    (Surrounding spaces are stripped by Django's form, as for every form field: not an alias.)
    """
    # given
    UserFactory(username="acceptadmin")
    # when
    exact = _login(Client(), "acceptadmin")
    other = Client()
    response = _login(other, spelling)
    # then
    assert exact.status_code == HTTPStatus.FOUND
    assert response.status_code == HTTPStatus.OK  # the form again, with its error
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in other.session


@pytest.mark.mysql
def test_crm_access_never_grants_another_spelling_of_a_user():
    """`crm_access --user OPS` refuses when only `ops` exists, instead of giving `ops` a new role."""
    # given
    ops = UserFactory(username="ops")
    # when
    with pytest.raises(CommandError, match="'OPS' does not exist, but 'ops' does"):
        call_command("crm_access", "--user", "OPS", "--role", "editor")
    # then
    assert list(ops.groups.all()) == []
    assert not Token.objects.filter(user=ops).exists()


def test_the_compiled_token_lookup_finds_what_the_orm_finds(reader_token, django_assert_num_queries):
    """token_with_user: the same token and user, every field as the ORM returns it, in one query."""
    # given
    expected = Token.objects.select_related("user").get(key=reader_token)
    expected.user.last_login = timezone.now()
    expected.user.save(update_fields=["last_login"])
    # when
    with django_assert_num_queries(1):
        token = token_with_user(reader_token)
        user = token.user
    unknown = token_with_user("0" * 40)
    # then
    assert (token.key, token.user_id, token.created) == (expected.key, expected.user_id, expected.created)
    assert {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields} == {
        f.attname: getattr(expected.user, f.attname) for f in user._meta.concrete_fields
    }
    assert timezone.is_aware(user.last_login) and timezone.is_aware(token.created)
    assert token._state.adding is False and user._state.adding is False
    assert unknown is None
