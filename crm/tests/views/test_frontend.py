"""Sign-in through Django's session, and how "/" serves the built React app (or explains its absence)."""

from http import HTTPStatus

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client

from crm.scopes import AreaScope
from crm.services import EDITORS_GROUP, api_user_ensure

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def editor():
    user, _ = api_user_ensure(
        username="e.editor", group=EDITORS_GROUP, password=PASSWORD, areas=AreaScope.ALL
    )
    return user


@pytest.mark.django_db
def test_login_page_names_the_app_and_keeps_next(client, settings):
    """The sign-in page shows the application's name, a CSRF-protected form, and where to go next."""
    response = client.get("/accounts/login/?next=/")

    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    assert f"<h1>{settings.APP_NAME}</h1>" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert '<input type="hidden" name="next" value="/">' in body
    assert 'name="username"' in body
    assert 'name="password"' in body


@pytest.mark.django_db
def test_login_starts_a_session_and_returns_to_the_app(editor):
    """Signing in with a CRM editor's password opens a session and sends the browser to the app at /."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/?next=/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/",
        {"username": "e.editor", "password": PASSWORD, "next": "/", "csrfmiddlewaretoken": token},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(editor.pk)
    # A new CSRF token comes with the session, for the app's writes (X-CSRFToken).
    assert client.cookies["csrftoken"].value != token


@pytest.mark.django_db
def test_login_refuses_a_wrong_password_in_words(client, editor):
    """A wrong password keeps the visitor on the page with a message, and opens no session."""
    response = client.post("/accounts/login/", {"username": "e.editor", "password": "wrong", "next": "/"})

    assert response.status_code == HTTPStatus.OK
    assert "Please enter a correct username and password." in response.content.decode()
    assert SESSION_KEY not in client.session
    assert get_user_model().objects.get(pk=editor.pk).last_login is None


@pytest.mark.django_db
def test_root_without_a_build_says_how_to_make_one(settings):
    """Without frontend/dist, "/" explains how to build the app and points to the API docs and admin."""
    settings.WHITENOISE_ROOT = None

    response = Client().get("/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    body = response.content.decode()
    assert "The web app is not built" in body
    assert "make frontend" in body
    assert 'href="/api/docs/"' in body
    assert 'href="/admin/"' in body


@pytest.mark.django_db
def test_root_serves_the_built_app_and_caches_only_hashed_bundles(settings, tmp_path):
    """With a build, "/" is its index.html (revalidated), and hashed bundles are cached for good."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<div id="root"></div><script src="/assets/index-AbC123_x.js"></script>'
    )
    (tmp_path / "assets" / "index-AbC123_x.js").write_text("console.log('app')")
    settings.WHITENOISE_ROOT = tmp_path
    client = Client()  # WhiteNoise reads its settings when a client's middleware is built

    index = client.get("/")
    bundle = client.get("/assets/index-AbC123_x.js")

    assert index.status_code == HTTPStatus.OK
    assert b"".join(index.streaming_content).startswith(b'<div id="root">')
    assert index["Content-Type"].startswith("text/html")
    assert "immutable" not in index.get("Cache-Control", "")
    assert index["X-Frame-Options"] == "DENY"
    assert index["X-Content-Type-Options"] == "nosniff"
    assert bundle.status_code == HTTPStatus.OK
    assert b"".join(bundle.streaming_content) == b"console.log('app')"
    assert "immutable" in bundle["Cache-Control"]


@pytest.mark.django_db
def test_api_paths_are_not_taken_by_the_app(settings, tmp_path):
    """An unknown /api/ path stays a JSON 404 even when the app is served at "/"."""
    (tmp_path / "index.html").write_text("<html></html>")
    settings.WHITENOISE_ROOT = tmp_path

    response = Client().get("/api/no-such-thing")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("application/json")
