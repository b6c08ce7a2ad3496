"""Hostile input and access: every attempt gets a clean 4xx in the error shape and changes nothing.

Oversized and malformed bodies, wrong content types, SQL-injection strings in every filter
and field, absurd paging, negative and overflowing ids, dead tokens, session writes without
a CSRF token, and a reader trying every write. "Unchanged" is checked on the rows of all
four CRM tables, before and after.
"""

import json
from http import HTTPStatus

import pytest
from django.urls import reverse
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

# Free text: any string is a valid value, and an injection string simply matches nothing.
CUSTOMER_TEXT_FILTERS = ["account_executive", "technical_specialist", "industry", "contract_type", "search"]
# Typed: only the vocabulary, a boolean or column names are valid, so the same string is a 400.
CUSTOMER_TYPED_FILTERS = ["area", "is_active", "is_key_account", "ordering"]
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


def assert_client_error(response, status: int, *, error_type: str = "client_error", attr=None):
    """A 4xx in the documented error shape, with no trace of SQL or Python in it."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] == error_type
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


@pytest.mark.parametrize(
    ("depth", "error_type", "code"),
    [
        # Valid JSON, but a list where an object is expected: the serializer says so.
        (64, "validation_error", "invalid"),
        # Deeper than the parser's recursion limit: a parse error, never a 500.
        (100_000, "client_error", "parse_error"),
    ],
)
def test_deeply_nested_json_is_a_400(editor_client, rows, depth, error_type, code):
    """JSON nested far deeper than any real body is a 400 (never a 500) and creates nothing."""
    before = _snapshot()
    body = "[" * depth + "]" * depth
    response = editor_client.post(reverse("api:opportunity-list"), body, content_type="application/json")
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type=error_type)
    assert [error["code"] for error in response.json()["errors"]] == [code]
    assert _snapshot() == before


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
    assert_client_error(response, HTTPStatus.BAD_REQUEST, attr=None)
    assert response.json()["errors"][0]["code"] == "parse_error"
    assert _snapshot() == before


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_a_key_given_twice_is_a_400_naming_it(editor_client, rows, method):
    """{"cid": A, ..., "cid": B} is refused on every write, naming cid: neither value is taken."""
    # given
    other = CustomerFactory()
    before = _snapshot()
    fields = json.dumps(_valid_opportunity(rows["customer"].cid))[1:-1]
    body = "{" + fields + f', "cid": {other.cid}' + "}"
    if method == "post":
        url = reverse("api:opportunity-list")
    else:
        url = reverse("api:opportunity-detail", args=[rows["opportunity"].oid])
    # when
    response = getattr(editor_client, method)(url, body, content_type="application/json")
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {"code": "duplicate_key", "detail": "The key 'cid' is given more than once.", "attr": "cid"}
        ],
    }
    assert _snapshot() == before


def test_equal_keys_in_different_objects_are_fine(editor_client, rows):
    """Only a repeat within one object is refused; the same name at another level is no repeat."""
    body = json.dumps([{"cid": 1}, {"cid": 2}])
    response = editor_client.post(reverse("api:opportunity-list"), body, content_type="application/json")
    # A list is not an opportunity: the serializer's answer, not the duplicate-key refusal.
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [error["code"] for error in response.json()["errors"]] == ["invalid"]


# --- SQL injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("param", CUSTOMER_TEXT_FILTERS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_customer_text_filters_matches_nothing(reader_client, rows, param, payload):
    """An injection string in a free-text customer filter is only text: it matches no customer."""
    before = _snapshot()
    response = reader_client.get(reverse("api:customer-list"), {param: payload})
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == []
    assert _snapshot() == before
    assert missing_legacy_tables() == []


@pytest.mark.parametrize("param", CUSTOMER_TYPED_FILTERS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_customer_typed_filters_is_a_400_naming_it(reader_client, rows, param, payload):
    """An injection string in a vocabulary, boolean or ordering filter is a 400 naming the filter."""
    before = _snapshot()
    response = reader_client.get(reverse("api:customer-list"), {param: payload})
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=param)
    assert _snapshot() == before
    assert missing_legacy_tables() == []


@pytest.mark.parametrize("param", OPPORTUNITY_FILTERS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_opportunity_filters_is_a_400_naming_it(reader_client, rows, param, payload):
    """Every opportunity filter is typed (id, vocabulary, date, ordering): an injection string is a 400."""
    before = _snapshot()
    response = reader_client.get(reverse("api:opportunity-list"), {param: payload})
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=param)
    assert _snapshot() == before


@pytest.mark.parametrize("name", ["api:revenue-actual-list", "api:revenue-target-list"])
@pytest.mark.parametrize("param", ["area", "fiscal_year", "month", "month_from", "month_to", "ordering"])
def test_sql_injection_in_revenue_filters_is_a_400_naming_it(reader_client, rows, name, param):
    """Revenue parameters are typed or unknown to the list: an injection string is a 400 naming it."""
    before = _snapshot()
    for payload in INJECTIONS:
        response = reader_client.get(reverse(name), {param: payload})
        assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr=param)
    assert _snapshot() == before


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
    "api:customer-list",
    "api:opportunity-list",
    "api:revenue-actual-list",
    "api:revenue-target-list",
]


@pytest.mark.parametrize("name", LIST_NAMES)
@pytest.mark.parametrize(
    ("params", "wrong"),
    [
        ({"limit": HUGE}, {"limit"}),
        ({"limit": "10", "offset": HUGE}, {"offset"}),
        ({"limit": HUGE, "offset": HUGE}, {"limit", "offset"}),
        ({"limit": "-1"}, {"limit"}),
        ({"limit": "10", "offset": "-5"}, {"offset"}),
        ({"limit": "10", "offset": OVERFLOW_BIGINT}, {"offset"}),
    ],
)
def test_absurd_limit_and_offset_are_a_400_naming_them(reader_client, rows, name, params, wrong):
    """Paging values past the documented bounds (or negative) are a 400 naming each wrong one."""
    response = reader_client.get(reverse(name), params)
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error")
    assert {error["attr"] for error in response.json()["errors"]} == wrong


@pytest.mark.parametrize("cid", ["-1", "0", OVERFLOW_INT, OVERFLOW_BIGINT, HUGE, "-" + HUGE])
def test_customer_ids_out_of_range_are_404(reader_client, rows, cid):
    """Negative ids and ids past INT/BIGINT are simply not found, on SQLite and MySQL alike."""
    response = reader_client.get(f"/api/customers/{cid}")
    assert_client_error(response, HTTPStatus.NOT_FOUND)
    assert_client_error(reader_client.get(f"/api/customers/{cid}/opportunities"), HTTPStatus.NOT_FOUND)


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


@pytest.mark.parametrize("cid", [-1, 2**31, 2**63, int(HUGE)])
def test_a_create_for_a_customer_id_out_of_range_is_a_400(editor_client, rows, cid):
    """A cid that cannot exist (negative, past INT) is a 400 naming cid; nothing is written."""
    before = _snapshot()
    response = editor_client.post(reverse("api:opportunity-list"), _valid_opportunity(cid), format="json")
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr="cid")
    assert _snapshot() == before


def test_a_negative_cid_filter_matches_nothing(reader_client, rows):
    """A negative cid fits the INT column, so it is a valid filter that no customer matches."""
    response = reader_client.get(reverse("api:opportunity-list"), {"cid": "-1"})
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == []


@pytest.mark.parametrize("cid", [OVERFLOW_INT, HUGE])
def test_a_cid_filter_past_the_int_column_is_a_400(reader_client, rows, cid):
    """A cid filter past the INT column's range is a 400 naming cid, never a 500."""
    response = reader_client.get(reverse("api:opportunity-list"), {"cid": cid})
    assert_client_error(response, HTTPStatus.BAD_REQUEST, error_type="validation_error", attr="cid")


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
    return [
        "/api/schema/",
        reverse("api:customer-list"),
        reverse("api:opportunity-list"),
        reverse("api:revenue-actual-list"),
    ]


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


def test_a_reader_attempting_every_opportunity_write_gets_403(reader_client, rows):
    """Readers may look but not touch: every opportunity write is 403 and changes nothing."""
    before = _snapshot()
    cid = rows["customer"].cid
    detail = reverse("api:opportunity-detail", args=[rows["opportunity"].oid])
    attempts = [
        reader_client.post(reverse("api:opportunity-list"), _valid_opportunity(cid), format="json"),
        reader_client.put(detail, _valid_opportunity(cid), format="json"),
        reader_client.patch(detail, {"status": Status.CLOSED_WON}, format="json"),
        reader_client.delete(detail),
    ]
    for response in attempts:
        assert_client_error(response, HTTPStatus.FORBIDDEN)
    assert _snapshot() == before


def test_customer_writes_are_405_for_everyone(reader_client, editor_client, rows):
    """The roster is read-only through the API: every write is 405 for readers and editors alike."""
    before = _snapshot()
    customer = reverse("api:customer-detail", args=[rows["customer"].cid])
    for client in (reader_client, editor_client):
        for response in (
            client.post(reverse("api:customer-list"), {"cid": 1, "customer_name": "x"}, format="json"),
            client.put(customer, {"customer_name": "x"}, format="json"),
            client.patch(customer, {"customer_name": "x"}, format="json"),
            client.delete(customer),
        ):
            assert_client_error(response, HTTPStatus.METHOD_NOT_ALLOWED)
    assert _snapshot() == before


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
