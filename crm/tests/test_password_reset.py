"""The password-reset pages exist only when the service can send mail, and are rate-limited then."""

import importlib
from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client
from django.urls import clear_url_caches

import intrasoft.urls
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET_PAGES = ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"]


def _reload_urls():
    importlib.reload(intrasoft.urls)
    clear_url_caches()


@pytest.fixture
def mail_configured(settings):
    settings.EMAIL_URL = "memorymail://"
    settings.PASSWORD_RESET_ENABLED = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "password_reset": "2/hour",
        },
    }
    _reload_urls()
    yield
    settings.PASSWORD_RESET_ENABLED = False
    _reload_urls()


@pytest.mark.parametrize("url", RESET_PAGES)
def test_without_mail_there_is_no_password_reset_page(client, settings, url):
    """With no EMAIL_URL the reset pages are not routed: 404, and nothing tries to send mail."""
    assert settings.PASSWORD_RESET_ENABLED is False
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert (
        client.post("/accounts/password_reset/", {"email": "a@example.com"}).status_code
        == HTTPStatus.NOT_FOUND
    )
    assert mail.outbox == []


def test_the_login_page_still_works_without_mail(client):
    """Sign-in, sign-out and password change stay routed."""
    assert client.get("/accounts/login/").status_code == HTTPStatus.OK
    assert client.get("/accounts/password_change/").status_code == HTTPStatus.FOUND  # to the login page


@pytest.mark.usefixtures("mail_configured")
def test_with_mail_a_reset_sends_one_mail_and_the_form_is_rate_limited():
    """A reset mails the user; past THROTTLE_PASSWORD_RESET posts per address and email answer 429."""
    # given
    UserFactory(email="ops@intrasoft.example")
    client = Client()
    # when
    statuses = [
        client.post("/accounts/password_reset/", {"email": "ops@intrasoft.example"}).status_code
        for _ in range(3)
    ]
    other_address = Client().post(
        "/accounts/password_reset/", {"email": "ops@intrasoft.example"}, REMOTE_ADDR="203.0.113.9"
    )
    # then
    assert statuses == [HTTPStatus.FOUND, HTTPStatus.FOUND, HTTPStatus.TOO_MANY_REQUESTS]
    assert other_address.status_code == HTTPStatus.FOUND
    assert len(mail.outbox) == 3
    assert mail.outbox[0].to == ["ops@intrasoft.example"]
