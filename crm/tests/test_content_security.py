"""The API docs pages run only the project's own scripts, and every page says so in its CSP.

Swagger UI and ReDoc come from drf-spectacular-sidecar's static files, so the docs work on an
internal network without internet and no third party's script runs on the origin of the
session cookie. The Content-Security-Policy forbids any other script, inline ones included.
"""

import re
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from crm.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
SRC = re.compile(r'\bsrc="(?P<src>[^"]+)"')
STYLESHEET = re.compile(r'<link[^>]*rel="stylesheet"[^>]*href="(?P<href>[^"]+)"')


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def _own_static_file(url: str) -> bool:
    """A URL of this origin's /static/, whose file one of the installed apps ships."""
    return url.startswith("/static/") and finders.find(url.removeprefix("/static/")) is not None


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_only_the_projects_own_scripts(client, url):
    """Every script and stylesheet of Swagger UI and ReDoc is a static file of the project."""
    # when
    page = client.get(url).content.decode()
    # then
    scripts = [match["attrs"] for match in SCRIPT.finditer(page)]
    assert scripts, page
    for attrs, body in ((m["attrs"], m["body"]) for m in SCRIPT.finditer(page)):
        assert body.strip() == "", f"inline script on {url}"
        src = SRC.search(attrs)["src"]
        assert _own_static_file(src) or src.startswith("/api/docs/?"), src
    for match in STYLESHEET.finditer(page):
        assert _own_static_file(match["href"]), match["href"]
    assert "http://" not in page
    assert "https://" not in page


def test_swagger_uis_start_up_script_is_served_by_the_project(client):
    """The script the Swagger page names is a JavaScript file from this origin pointing at our schema."""
    page = client.get("/api/docs/").content.decode()
    own = [src for src in SRC.findall(page) if src.startswith("/api/docs/")]
    assert len(own) == 1
    script = client.get(own[0])
    assert script.status_code == HTTPStatus.OK
    assert script["Content-Type"].startswith("application/javascript")
    assert 'url: "/api/schema",' in script.content.decode()


@pytest.mark.parametrize(
    "url", ["/api/docs/", "/api/redoc/", "/admin/login/", "/accounts/login/", "/api/schema/"]
)
def test_every_page_allows_only_scripts_of_its_own_origin(client, url):
    """The CSP header: scripts from 'self' only (no inline, no eval, no CDN), no framing, no plugins."""
    directives = _directives(client.get(url))
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["connect-src"] == ["'self'"]


def test_the_admin_pages_need_no_inline_script():
    """The admin's change list, the page with the most script, loads its scripts as files only."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/crm/opportunity/").content.decode()
    bodies = [m["body"].strip() for m in SCRIPT.finditer(page) if 'type="application/json"' not in m["attrs"]]
    assert bodies and set(bodies) == {""}


def _csp_middleware_response(response, **request_attrs):
    from django.test import RequestFactory

    from crm.middleware import CSPMiddleware

    request = RequestFactory().get("/api/opportunities")
    middleware = CSPMiddleware(lambda request: response)
    for name, value in request_attrs.items():
        setattr(request, name, value)
    return middleware(request)


def test_the_policy_header_is_the_one_django_csp_builds_and_follows_the_settings(settings):
    """Every response carries the settings' policy as django-csp writes it, and a change of the
    settings changes it (the header is built once, not per response)."""
    from csp.utils import build_policy
    from django.http import HttpResponse

    # when
    built_before = build_policy()
    before = _csp_middleware_response(HttpResponse())["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    after = _csp_middleware_response(HttpResponse())["Content-Security-Policy"]
    # then
    assert before == built_before and "script-src 'self'" in before
    assert after == "default-src 'none'" == build_policy()


def test_a_response_with_a_policy_of_its_own_keeps_it(settings):
    """django-csp's per-view changes (csp_update, csp_exempt) and a nonce still apply."""
    from csp.constants import NONCE
    from django.http import HttpResponse

    # given: a policy that takes a nonce where a page uses one
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**directives, "script-src": ["'self'", NONCE]}}
    updated, exempt, with_nonce = HttpResponse(), HttpResponse(), HttpResponse()
    updated._csp_update = {"img-src": ["https://images.example"]}
    exempt._csp_exempt = True
    # when
    updated = _csp_middleware_response(updated)
    exempt = _csp_middleware_response(exempt)
    with_nonce = _csp_middleware_response(with_nonce, _csp_nonce="abc123")
    # then
    assert "https://images.example" in _directives(updated)["img-src"]
    assert "Content-Security-Policy" not in exempt
    assert _directives(with_nonce)["script-src"] == ["'self'", "'nonce-abc123'"]
    assert _directives(_csp_middleware_response(HttpResponse()))["script-src"] == ["'self'"]
