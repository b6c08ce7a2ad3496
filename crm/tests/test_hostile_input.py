"""Hostile input and access: every attempt gets a clean 4xx in the error shape and changes nothing.

Oversized and malformed bodies, wrong content types, SQL-injection strings in every filter
and field, absurd paging, negative and overflowing ids, dead tokens, session writes without
a CSRF token, and a reader trying every write. "Unchanged" is checked on the rows of all
four CRM tables, before and after.

Endpoints that arrive from other branches are skipped, with the reason, until they are routed.
"""

import json
from http import HTTPStatus

import pytest
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Area, Product, Status
from crm.models import Customer, Opportunity, RevenueActual, RevenueTarget
from crm.schema import missing_legacy_tables
from crm.services import EDITOR_PERMISSIONS, READER_PERMISSIONS
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _routed(name: str, *args) -> bool:
    try:
        reverse(name, args=args or None)
    except NoReverseMatch:
        return False
    return True


needs_customers = pytest.mark.skipif(
    not _routed("api:customer-list"), reason="customer API (api:customer-list) not routed on this branch"
)
needs_opportunities = pytest.mark.skipif(
    not _routed("api:opportunity-list"),
    reason="opportunity API (api:opportunity-list) not routed on this branch",
)
needs_revenue = pytest.mark.skipif(
    not _routed("api:revenue-actual-list"), reason="revenue API not routed on this branch"
)

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE customer; --",
    '" OR ""="',
    "x' UNION SELECT username, password FROM auth_user --",
    "%' AND SLEEP(3) AND '%'='",
    "\\'; SELECT 1; --",
]
HUGE = "9" * 30  # far beyond BIGINT, let alone INT
OVERFLOW_INT = str(2**31)  # one past MySQL's signed INT
OVERFLOW_BIGINT = str(2**63)

CUSTOMER_FILTERS = [
    "area",
    "account_executive",
    "technical_specialist",
    "industry",
    "contract_type",
    "is_active",
    "is_key_account",
    "search",
    "ordering",
]
OPPORTUNITY_FILTERS = [
    "cid",
    "status",
    "product",
    "forecast_category",
    "area",
    "expected_close_date_from",
    "expected_close_date_to",
    "ordering",
]


def _perms(codenames) -> list[str]:
    return [f"crm.{codename}" for codename in codenames]


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def editor():
    return UserFactory(permissions=_perms(EDITOR_PERMISSIONS))


@pytest.fixture
def editor_client(editor) -> APIClient:
    return _token_client(editor)


@pytest.fixture
def reader_client() -> APIClient:
    return _token_client(UserFactory(permissions=_perms(READER_PERMISSIONS)))


@pytest.fixture
def rows():
    customer = CustomerFactory(area=Area.FRANCE)
    opportunity = OpportunityFactory(customer=customer, opportunity_name="Payroll roll-out")
    RevenueActualFactory()
    RevenueTargetFactory()
    return {"customer": customer, "opportunity": opportunity}


def _snapshot() -> dict:
    return {
        model.__name__: sorted(map(repr, model.objects.order_by("pk").values()))
        for model in (Customer, Opportunity, RevenueActual, RevenueTarget)
    }


def _valid_opportunity(customer_cid, **overrides) -> dict:
    return {
        "cid": customer_cid,
        "opportunity_name": "Time entry for the Lyon office",
        "product": Product.TIME_ENTRY,
        "status": Status.PROSPECTING,
        "est_monthly_revenue": "1250.00",
        "expected_close_date": "2025-03-31",
        **overrides,
    }


def assert_client_error(response, status: int, *, error_type: str | None = "client_error", attr=None):
    """A 4xx in the documented error shape, with no trace of SQL or Python in it.

    ``error_type=None`` accepts either 4xx type (a parse error may be reported as either).
    """
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] == error_type if error_type else body["type"] in {"client_error", "validation_error"}
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    if attr is not None:
        assert attr in {error["attr"] for error in body["errors"]}, body
    # The input may be echoed back (and contain SQL); what must never appear is the server's own
    # SQL, a traceback or a driver's error.
    text = response.content.decode()
    for leak in ("Traceback", 'File "', "django.db", "MySQLdb", "sqlite3", "Error:", "FROM `"):
        assert leak not in text


# --- Bodies ----------------------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_refused_with_413(editor_client, rows, settings):
    """A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets 413 in the error shape, unread."""
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    before = _snapshot()
    body = json.dumps(_valid_opportunity(rows["customer"].cid, opportunity_name="x" * 4096))
    # when
    response = editor_client.post("/api/opportunities", body, content_type="application/json")
    # then
    assert_client_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    assert response.json()["errors"][0]["code"] == "request_too_large"
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize("depth", [64, 100_000])
def test_deeply_nested_json_is_a_400(editor_client, rows, depth):
    """JSON nested far deeper than any real body is a parse error (400), never a 500."""
    before = _snapshot()
    body = "[" * depth + "]" * depth
    response = editor_client.post(reverse("api:opportunity-list"), body, content_type="application/json")
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type=None)
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/json-patch+json",
    ],
)
def test_a_body_in_another_content_type_is_415(editor_client, rows, content_type):
    """Only JSON is accepted: anything else is 415 Unsupported Media Type and creates nothing."""
    before = _snapshot()
    body = json.dumps(_valid_opportunity(rows["customer"].cid))
    response = editor_client.post(reverse("api:opportunity-list"), body, content_type=content_type)
    assert_client_error(response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_invalid_utf8_is_a_400(editor_client, rows, method):
    """A body that is not valid UTF-8 is a parse error on every write, not a 500."""
    before = _snapshot()
    body = b'{"opportunity_name": "caf\xe9 \xff\xfe", "cid": ' + str(rows["customer"].cid).encode() + b"}"
    if method == "post":
        url = reverse("api:opportunity-list")
    else:
        url = reverse("api:opportunity-detail", args=[rows["opportunity"].oid])
    response = getattr(editor_client, method)(url, body, content_type="application/json")
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type=None)
    assert _snapshot() == before


# --- SQL injection ---------------------------------------------------------------------------


@needs_customers
@pytest.mark.parametrize("param", CUSTOMER_FILTERS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_customer_filters_is_only_text(reader_client, rows, param, payload):
    """An injection string in any customer filter matches nothing or is a 400 naming the filter."""
    before = _snapshot()
    response = reader_client.get(reverse("api:customer-list"), {param: payload})
    if response.status_code == HTTPStatus.OK:
        assert response.json() == []
    else:
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=param)
    assert _snapshot() == before
    assert missing_legacy_tables() == []


@needs_opportunities
@pytest.mark.parametrize("param", OPPORTUNITY_FILTERS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_opportunity_filters_is_only_text(reader_client, rows, param, payload):
    """An injection string in any opportunity filter matches nothing or is a 400 naming the filter."""
    before = _snapshot()
    response = reader_client.get(reverse("api:opportunity-list"), {param: payload})
    if response.status_code == HTTPStatus.OK:
        assert response.json() == []
    else:
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=param)
    assert _snapshot() == before


@needs_revenue
@pytest.mark.parametrize("name", ["api:revenue-actual-list", "api:revenue-target-list"])
@pytest.mark.parametrize("param", ["area", "fiscal_year", "month", "month_from", "month_to", "ordering"])
def test_sql_injection_in_revenue_filters_is_only_text(reader_client, rows, name, param):
    """Revenue filters treat injection strings as text: no match, or a 400."""
    before = _snapshot()
    for payload in INJECTIONS:
        response = reader_client.get(reverse(name), {param: payload})
        if response.status_code == HTTPStatus.OK:
            assert isinstance(response.json(), list)
        else:
            assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error")
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_a_name_is_stored_and_returned_as_plain_text(editor_client, rows, payload):
    """An injection string as opportunity_name is stored verbatim, read back verbatim, and runs nothing."""
    # given
    customers_before = _snapshot()["Customer"]
    # when
    created = editor_client.post(
        reverse("api:opportunity-list"),
        _valid_opportunity(rows["customer"].cid, opportunity_name=payload),
        format="json",
    )
    # then
    assert created.status_code == HTTPStatus.CREATED, created.content
    oid = created.json()["oid"]
    assert created.json()["opportunity_name"] == payload
    assert Opportunity.objects.get(oid=oid).opportunity_name == payload
    read = editor_client.get(reverse("api:opportunity-detail", args=[oid]))
    assert read.json()["opportunity_name"] == payload
    assert _snapshot()["Customer"] == customers_before
    assert missing_legacy_tables() == []


@needs_opportunities
@pytest.mark.parametrize(
    "field",
    [
        "cid",
        "product",
        "status",
        "est_monthly_revenue",
        "probability",
        "forecast_category",
        "expected_close_date",
    ],
)
def test_sql_injection_in_a_typed_field_is_a_400_naming_it(editor_client, rows, field):
    """Every other field rejects an injection string as an invalid value, naming the field."""
    before = _snapshot()
    for payload in INJECTIONS:
        response = editor_client.post(
            reverse("api:opportunity-list"),
            _valid_opportunity(rows["customer"].cid, **{field: payload}),
            format="json",
        )
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=field)
    assert _snapshot() == before


# --- Paging and ids --------------------------------------------------------------------------

LIST_NAMES = [
    pytest.param("api:customer-list", marks=needs_customers),
    pytest.param("api:opportunity-list", marks=needs_opportunities),
    pytest.param("api:revenue-actual-list", marks=needs_revenue),
    pytest.param("api:revenue-target-list", marks=needs_revenue),
]


@pytest.mark.parametrize("name", LIST_NAMES)
@pytest.mark.parametrize(
    "params",
    [
        {"limit": HUGE},
        {"limit": "10", "offset": HUGE},
        {"limit": HUGE, "offset": HUGE},
        {"limit": "-1"},
        {"limit": "10", "offset": "-5"},
        {"limit": "10", "offset": OVERFLOW_BIGINT},
    ],
)
def test_absurd_limit_and_offset_are_a_400_or_an_empty_page(reader_client, rows, name, params):
    """Paging values far past any table size (or negative) never reach the database as a 500."""
    response = reader_client.get(reverse(name), params)
    if response.status_code == HTTPStatus.OK:
        body = response.json()
        assert body["results"] == []
        assert body["count"] >= 1
    else:
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error")


@needs_customers
@pytest.mark.parametrize("cid", ["-1", "0", OVERFLOW_INT, OVERFLOW_BIGINT, HUGE, "-" + HUGE])
def test_customer_ids_out_of_range_are_404(reader_client, rows, cid):
    """Negative ids and ids past INT/BIGINT are simply not found, on SQLite and MySQL alike."""
    response = reader_client.get(f"/api/customers/{cid}")
    assert_client_error(response, HTTPStatus.NOT_FOUND)
    if _routed("api:customer-opportunities", 1):
        assert_client_error(reader_client.get(f"/api/customers/{cid}/opportunities"), HTTPStatus.NOT_FOUND)


@needs_opportunities
@pytest.mark.parametrize("oid", ["-1", OVERFLOW_BIGINT, HUGE, "0" * 32, "z" * 33])
def test_opportunity_ids_that_do_not_exist_are_404_on_every_method(editor_client, rows, oid):
    """Reads, updates and deletes of a malformed or unknown oid are 404 and change nothing."""
    before = _snapshot()
    url = f"/api/opportunities/{oid}"
    body = _valid_opportunity(rows["customer"].cid)
    for response in (
        editor_client.get(url),
        editor_client.put(url, body, format="json"),
        editor_client.patch(url, {"status": Status.PROPOSAL}, format="json"),
        editor_client.delete(url),
    ):
        assert_client_error(response, HTTPStatus.NOT_FOUND)
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize("cid", [-1, 2**31, 2**63, int(HUGE)])
def test_a_create_for_a_customer_id_out_of_range_is_a_400(editor_client, rows, cid):
    """A cid that cannot exist (negative, past INT) is a 400 naming cid; nothing is written."""
    before = _snapshot()
    response = editor_client.post(reverse("api:opportunity-list"), _valid_opportunity(cid), format="json")
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr="cid")
    assert _snapshot() == before


@needs_opportunities
@pytest.mark.parametrize("cid", ["-1", OVERFLOW_INT, HUGE])
def test_a_cid_filter_out_of_range_matches_nothing(reader_client, rows, cid):
    """Filtering opportunities by an impossible cid is an empty list or a 400, never a 500."""
    response = reader_client.get(reverse("api:opportunity-list"), {"cid": cid})
    if response.status_code == HTTPStatus.OK:
        assert response.json() == []
    else:
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr="cid")


@needs_opportunities
@pytest.mark.parametrize(
    ("field", "value"),
    [("est_monthly_revenue", "1" + "0" * 40), ("probability", 2**31), ("probability", -1)],
)
def test_numbers_out_of_the_column_range_are_a_400(editor_client, rows, field, value):
    """Values that would overflow the column are refused before the database sees them."""
    before = _snapshot()
    response = editor_client.post(
        reverse("api:opportunity-list"),
        _valid_opportunity(rows["customer"].cid, **{field: value}),
        format="json",
    )
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=field)
    assert _snapshot() == before


# --- Who may do what -------------------------------------------------------------------------


def _read_urls() -> list[str]:
    # The schema itself is public, but a token sent with it is still checked.
    urls = ["/api/schema/"]
    if _routed("api:customer-list"):
        urls.append(reverse("api:customer-list"))
    if _routed("api:opportunity-list"):
        urls.append(reverse("api:opportunity-list"))
    if _routed("api:revenue-actual-list"):
        urls.append(reverse("api:revenue-actual-list"))
    return urls


def test_a_deactivated_users_token_is_401(editor, rows):
    """A token of a user who was deactivated (left the company) no longer opens anything."""
    client = _token_client(editor)
    editor.is_active = False
    editor.save()
    for url in _read_urls():
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert_client_error(response, HTTPStatus.UNAUTHORIZED)
        assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_a_deleted_users_token_is_401(editor, rows):
    """Deleting a user deletes its token: the old key is refused."""
    client = _token_client(editor)
    editor.delete()
    for url in _read_urls():
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert_client_error(response, HTTPStatus.UNAUTHORIZED)
        assert response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.mark.parametrize("header", ["Token ", "Token " + "a" * 40, "Token a b", "Token \x00"])
def test_a_malformed_or_unknown_token_is_401(rows, header):
    """Garbage in the Authorization header is 401 in the error shape."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    for url in _read_urls():
        assert_client_error(client.get(url, HTTP_ACCEPT="application/json"), HTTPStatus.UNAUTHORIZED)


@needs_opportunities
def test_session_writes_without_a_csrf_token_are_403(editor, rows):
    """A logged-in browser session cannot write without the CSRF token (cross-site requests)."""
    # given
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(editor)
    before = _snapshot()
    detail = reverse("api:opportunity-detail", args=[rows["opportunity"].oid])
    body = _valid_opportunity(rows["customer"].cid)
    # when
    responses = [
        client.post(reverse("api:opportunity-list"), body, format="json"),
        client.put(detail, body, format="json"),
        client.patch(detail, {"status": Status.PROPOSAL}, format="json"),
        client.delete(detail),
    ]
    # then
    for response in responses:
        assert_client_error(response, HTTPStatus.FORBIDDEN)
        assert "CSRF" in response.json()["errors"][0]["detail"]
    assert _snapshot() == before
    assert client.get(detail).status_code == HTTPStatus.OK  # reads need no token


@needs_opportunities
def test_a_reader_attempting_every_write_gets_403(reader_client, rows):
    """Readers may look but not touch: every write on every resource is 403 and changes nothing."""
    before = _snapshot()
    cid = rows["customer"].cid
    detail = reverse("api:opportunity-detail", args=[rows["opportunity"].oid])
    attempts = [
        reader_client.post(reverse("api:opportunity-list"), _valid_opportunity(cid), format="json"),
        reader_client.put(detail, _valid_opportunity(cid), format="json"),
        reader_client.patch(detail, {"status": Status.CLOSED_WON}, format="json"),
        reader_client.delete(detail),
    ]
    if _routed("api:customer-list"):
        customer = reverse("api:customer-detail", args=[cid])
        attempts += [
            reader_client.post(reverse("api:customer-list"), {"cid": 1, "customer_name": "x"}, format="json"),
            reader_client.put(customer, {"customer_name": "x"}, format="json"),
            reader_client.patch(customer, {"customer_name": "x"}, format="json"),
            reader_client.delete(customer),
        ]
    for response in attempts:
        # 405 is as final as 403 for an endpoint that has no such write at all.
        assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED), response.content
        assert_client_error(response, response.status_code)
    assert HTTPStatus.FORBIDDEN in {r.status_code for r in attempts}
    assert _snapshot() == before


needs_forecast = pytest.mark.skipif(
    not _routed("api:forecast"), reason="forecast API not routed on this branch"
)


@needs_forecast
@pytest.mark.parametrize("name", ["api:forecast", "api:data-quality"])
@pytest.mark.parametrize(
    "params", [{"as_of": ""}, {"fiscal_year": ""}, {"fiscal_year": HUGE}, {"as_of": "2024-13-45"}]
)
def test_blank_or_impossible_period_parameters_are_a_400(name, params):
    """A blank or impossible fiscal_year/as_of is reported (400 naming it), not silently defaulted."""
    client = _token_client(
        UserFactory(permissions=_perms((*READER_PERMISSIONS, "view_customer", "view_opportunity")))
    )
    response = client.get(reverse(name), params)
    assert_client_error(
        response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=next(iter(params))
    )
