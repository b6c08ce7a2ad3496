"""Static files in a deployment: the admin never fails for want of collectstatic, and start-up says so.

The static-file settings are taken from the settings module run with ENVIRONMENT=production
(DEBUG off, the manifest storage), and STATIC_ROOT points at an empty directory: a deployment
that skipped ``collectstatic``.
"""

import json
import logging
import os
import runpy
from http import HTTPStatus
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from crm.staticfiles import warn_if_static_files_missing
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = Path(__file__).resolve().parents[2] / "intrasoft" / "settings.py"
HASHED_CSS = "admin/css/base.0123456789ab.css"


@pytest.fixture
def static_root(settings, tmp_path):
    """The production static-file settings, with nothing collected into STATIC_ROOT."""
    environ = {"ENVIRONMENT": "production", "SECRET_KEY": "s" * 50, "ENV_FILE": str(tmp_path / "none.env")}
    with mock.patch.dict(os.environ, environ):
        production = runpy.run_path(str(SETTINGS))
    assert production["DEBUG"] is False
    settings.STORAGES = production["STORAGES"]
    settings.WHITENOISE_USE_FINDERS = production["WHITENOISE_USE_FINDERS"]
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    return settings.STATIC_ROOT


def _staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_pages_answer_without_collectstatic(static_root):
    """No manifest: the login page, the index and a changelist are 200 and link the CSS unhashed."""
    # when
    login = Client().get("/admin/login/")
    client = _staff_client()
    pages = [client.get(path) for path in ("/admin/", "/admin/crm/customer/")]
    # then
    for response in (login, *pages):
        assert response.status_code == HTTPStatus.OK
        assert '<link rel="stylesheet" href="/static/admin/css/base.css">' in response.content.decode()


def test_the_unhashed_files_are_served_from_the_apps(static_root):
    """The stylesheet the page links is served (from django.contrib.admin), not a 404."""
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content) == Path(finders.find("admin/css/base.css")).read_bytes()


def test_collected_files_keep_their_hashed_names(static_root):
    """With collectstatic's manifest the page links the hashed file, as before."""
    # given
    manifest = {"version": "1.1", "hash": "0123456789ab", "paths": {"admin/css/base.css": HASHED_CSS}}
    (static_root / "staticfiles.json").write_text(json.dumps(manifest))
    # when
    response = Client().get("/admin/login/")
    # then
    assert response.status_code == HTTPStatus.OK
    assert f'<link rel="stylesheet" href="/static/{HASHED_CSS}">' in response.content.decode()


def test_start_up_says_what_is_missing_and_how_to_fix_it(static_root, caplog):
    """Start-up logs one warning naming the missing manifest and collectstatic; none once collected."""
    # when
    with caplog.at_level(logging.WARNING, logger="crm.staticfiles"):
        warn_if_static_files_missing()
        (static_root / "staticfiles.json").write_text(json.dumps({"version": "1.1", "paths": {}}))
        warn_if_static_files_missing()
    # then
    assert [record.getMessage() for record in caplog.records] == [
        f"static files are not collected: {static_root}/staticfiles.json is missing, so the admin's CSS "
        "and JavaScript are served unhashed from the apps; run `python manage.py collectstatic --noinput`"
    ]


def test_debug_storage_needs_no_manifest(settings, caplog):
    """Locally (DEBUG storage) files come straight from the apps and nothing is reported."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with caplog.at_level(logging.WARNING, logger="crm.staticfiles"):
        warn_if_static_files_missing()
    assert caplog.records == []
