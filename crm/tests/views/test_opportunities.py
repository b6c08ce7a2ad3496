"""/api/opportunities: list, read, create, update, delete through the HTTP API."""

import datetime
import json
import threading
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.choices import Status
from crm.models import Opportunity
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

READER_PERMS = ["crm.view_opportunity", "crm.view_customer"]
EDITOR_PERMS = [*READER_PERMS, "crm.add_opportunity", "crm.change_opportunity", "crm.delete_opportunity"]
LIST_URL = reverse("api:opportunity-list")


def _client(perms) -> APIClient:
    user = UserFactory(permissions=perms)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def editor() -> APIClient:
    return _client(EDITOR_PERMS)


@pytest.fixture
def reader() -> APIClient:
    return _client(READER_PERMS)


@pytest.fixture
def customer():
    return CustomerFactory(cid=1001, customer_name="Société Générale", area="France")


def _detail(oid: str) -> str:
    return reverse("api:opportunity-detail", kwargs={"oid": oid})


def _body(customer, **overrides) -> dict:
    body = {
        "cid": customer.cid,
        "opportunity_name": "Payroll roll-out",
        "product": "Payroll",
        "status": "Proposal",
        "est_monthly_revenue": "1234.50",
        "expected_close_date": "2025-03-31",
    }
    body.update(overrides)
    return body


def _expected(opportunity: Opportunity) -> dict:
    """The representation of a stored row, built from the database, not from the response."""
    opportunity = Opportunity.objects.select_related("customer").get(oid=opportunity.oid)
    return {
        "oid": opportunity.oid,
        "cid": opportunity.customer_id,
        "customer_name": opportunity.customer.customer_name,
        "area": opportunity.customer.area,
        "opportunity_name": opportunity.opportunity_name,
        "product": opportunity.product,
        "status": opportunity.status,
        "est_monthly_revenue": f"{opportunity.est_monthly_revenue:.2f}",
        "probability": opportunity.probability,
        "forecast_category": opportunity.forecast_category,
        "expected_close_date": opportunity.expected_close_date.isoformat(),
        "created_at": opportunity.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": opportunity.updated_at.isoformat().replace("+00:00", "Z"),
    }


def _attrs(response) -> dict[str, str]:
    body = response.json()
    assert body["type"] == "validation_error"
    return {error["attr"]: error["code"] for error in body["errors"]}


# --- Create ------------------------------------------------------------------------------


def test_editor_creates_an_opportunity_with_201_location_and_etag(editor, customer):
    """POST answers 201 with the stored row (customer name and area included), Location and ETag."""
    response = editor.post(
        LIST_URL, _body(customer, opportunity_name="  Paie Île-de-France 🚀 "), format="json"
    )
    assert response.status_code == HTTPStatus.CREATED
    opportunity = Opportunity.objects.get()
    assert response.json() == _expected(opportunity)
    assert response.json()["opportunity_name"] == "Paie Île-de-France 🚀"
    assert (response.json()["probability"], response.json()["forecast_category"]) == (50, "Best Case")
    assert response["Location"] == f"http://testserver/api/opportunities/{opportunity.oid}"
    assert response["ETag"] == editor.get(_detail(opportunity.oid))["ETag"]


def test_create_takes_a_fixed_number_of_queries(editor, customer, django_assert_num_queries):
    """Token, the access entry (one query where permissions took two), the customer with the
    database clock, INSERT, history INSERT (nothing read back); plus the savepoint and its release."""
    with django_assert_num_queries(7):
        response = editor.post(LIST_URL, _body(customer), format="json")
    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (1234.5, "1234.50"),
        (5000, "5000.00"),
        ("0.01", "0.01"),
        (" 42 ", "42.00"),
        ("9999999999.99", "9999999999.99"),
        ("1.500", "1.50"),
        ("1e3", "1000.00"),
    ],
)
def test_revenue_accepts_numbers_and_numeric_strings(editor, customer, value, stored):
    """est_monthly_revenue: JSON numbers and numeric strings, rendered back as a 2-place string."""
    response = editor.post(LIST_URL, _body(customer, est_monthly_revenue=value), format="json")
    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["est_monthly_revenue"] == stored
    assert Opportunity.objects.get().est_monthly_revenue == Decimal(stored)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("-inf", "invalid"),
        (True, "invalid"),
        (False, "invalid"),
        ("1_000", "invalid"),
        ("١٢٣", "invalid"),
        ("12,50", "invalid"),
        ("", "invalid"),
        (None, "null"),
        ([1], "invalid"),
        (0, "min_value"),
        ("-0.01", "min_value"),
        ("10000000000", "max_value"),
        (1e300, "max_value"),
        ("1.234", "max_decimal_places"),
        (0.001, "max_decimal_places"),
    ],
)
def test_revenue_refuses_nan_infinity_booleans_and_out_of_range(editor, customer, value, code):
    """Each refused amount is a 400 naming est_monthly_revenue; nothing is created."""
    response = editor.post(LIST_URL, _body(customer, est_monthly_revenue=value), format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {"est_monthly_revenue": code}
    assert Opportunity.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "attr", "code"),
    [
        ({"cid": 999999}, "cid", "does_not_exist"),
        ({"cid": "abc"}, "cid", "invalid"),
        ({"cid": 10**30}, "cid", "does_not_exist"),
        ({"opportunity_name": "   "}, "opportunity_name", "blank"),
        ({"opportunity_name": "x" * 256}, "opportunity_name", "max_length"),
        ({"opportunity_name": 42}, "opportunity_name", "invalid"),
        ({"product": "Consulting"}, "product", "invalid_choice"),
        ({"status": "Won"}, "status", "invalid_choice"),
        ({"status": 3}, "status", "invalid_choice"),
        ({"forecast_category": "Maybe"}, "forecast_category", "invalid_choice"),
        ({"probability": 101}, "probability", "max_value"),
        ({"probability": -1}, "probability", "min_value"),
        ({"probability": 50.5}, "probability", "invalid"),
        ({"probability": True}, "probability", "invalid"),
        ({"status": "Closed Won", "probability": 90}, "probability", "inconsistent_with_status"),
        ({"status": "Closed Lost", "probability": 5}, "probability", "inconsistent_with_status"),
        (
            {"status": "Closed Won", "forecast_category": "Commit"},
            "forecast_category",
            "inconsistent_with_status",
        ),
        (
            {"status": "Negotiation", "forecast_category": "Closed"},
            "forecast_category",
            "inconsistent_with_status",
        ),
        (
            {"status": "Closed Lost", "forecast_category": "Best Case"},
            "forecast_category",
            "inconsistent_with_status",
        ),
        ({"expected_close_date": "31/03/2025"}, "expected_close_date", "invalid"),
        ({"expected_close_date": "2025-02-30"}, "expected_close_date", "invalid"),
        ({"expected_close_date": "2025-03-31T10:00:00Z"}, "expected_close_date", "invalid"),
        ({"bogus": 1}, "bogus", "unknown_field"),
    ],
)
def test_each_broken_rule_is_a_400_naming_the_field(editor, customer, overrides, attr, code):
    """Every rule of the issue, refused through the API with its field as attr; nothing is created."""
    response = editor.post(LIST_URL, _body(customer, **overrides), format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {attr: code}
    assert Opportunity.objects.count() == 0


def test_vocabulary_error_lists_the_allowed_values(editor, customer):
    """The message for an unknown status lists the six statuses."""
    response = editor.post(LIST_URL, _body(customer, status="Won"), format="json")
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "invalid_choice",
                "detail": "Must be one of: Prospecting, Qualification, Proposal, Negotiation, Closed Won, "
                "Closed Lost.",
                "attr": "status",
            }
        ],
    }


def test_missing_fields_and_unknown_fields_are_reported_together(editor):
    """An empty-ish body names every required field and every unknown one in one answer."""
    response = editor.post(LIST_URL, {"colour": "blue", "oid": "ignored"}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {
        "cid": "required",
        "opportunity_name": "required",
        "product": "required",
        "status": "required",
        "est_monthly_revenue": "required",
        "expected_close_date": "required",
        "colour": "unknown_field",
    }


def test_a_missing_customer_is_reported_with_the_missing_fields(editor):
    """{"cid": 1} without customer 1: one 400 names the missing fields and the customer; no write."""
    response = editor.post(LIST_URL, {"cid": 1}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {"code": "does_not_exist", "detail": "Customer 1 does not exist.", "attr": "cid"},
            *(
                {"code": "required", "detail": "This field is required.", "attr": field}
                for field in (
                    "opportunity_name",
                    "product",
                    "status",
                    "est_monthly_revenue",
                    "expected_close_date",
                )
            ),
        ],
    }
    assert Opportunity.objects.count() == 0


def test_an_existing_customer_is_not_reported_beside_field_errors(editor, customer):
    """A body with the customer right and a field wrong names only the field."""
    response = editor.post(LIST_URL, _body(customer, status="Won-ish"), format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {"status": "invalid_choice"}


def test_a_patch_to_a_missing_customer_is_reported_with_its_field_errors(editor, proposal):
    """PATCH with an unknown cid and a bad field names both; the row is unchanged."""
    before = editor.get(_detail(proposal.oid)).json()
    response = editor.patch(_detail(proposal.oid), {"cid": 424242, "probability": 101}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {"cid": "does_not_exist", "probability": "max_value"}
    assert editor.get(_detail(proposal.oid)).json() == before


def test_read_only_fields_sent_by_a_client_are_ignored(editor, customer):
    """oid, created_at, updated_at, customer_name and area in a body do not reach the row."""
    body = _body(
        customer,
        oid="0" * 32,
        created_at="2000-01-01T00:00:00Z",
        updated_at="2000-01-01T00:00:00Z",
        customer_name="Someone else",
        area="UK",
    )
    response = editor.post(LIST_URL, body, format="json")
    assert response.status_code == HTTPStatus.CREATED
    stored = Opportunity.objects.select_related("customer").get()
    assert stored.oid != "0" * 32
    assert stored.created_at.year > 2000
    assert (response.json()["customer_name"], response.json()["area"]) == ("Société Générale", "France")


def test_a_body_that_is_not_an_object_is_a_400(editor):
    """A JSON array or malformed JSON is refused without creating anything."""
    assert editor.post(LIST_URL, [1, 2], format="json").status_code == HTTPStatus.BAD_REQUEST
    malformed = editor.post(LIST_URL, "{not json", content_type="application/json")
    assert malformed.status_code == HTTPStatus.BAD_REQUEST
    assert malformed.json()["errors"][0]["code"] == "parse_error"
    assert Opportunity.objects.count() == 0


def test_a_nan_literal_in_json_is_refused(editor, customer):
    """A bare NaN (not valid JSON) is a parse error, not an amount."""
    raw = json.dumps(_body(customer)).replace('"1234.50"', "NaN")
    response = editor.post(LIST_URL, raw, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert Opportunity.objects.count() == 0


# --- Read --------------------------------------------------------------------------------


@pytest.fixture
def pipeline():
    """Opportunities over three customers in two areas."""
    france = CustomerFactory(cid=2001, customer_name="Zürich Versicherung France", area="France")
    uk = CustomerFactory(cid=2002, customer_name="Ørsted UK", area="UK")
    return {
        "a": OpportunityFactory(
            customer=france,
            status=Status.PROSPECTING,
            product="Payroll",
            expected_close_date=datetime.date(2025, 1, 15),
            est_monthly_revenue=Decimal("100.00"),
        ),
        "b": OpportunityFactory(
            customer=uk,
            status=Status.NEGOTIATION,
            product="Expenses",
            expected_close_date=datetime.date(2025, 2, 15),
            est_monthly_revenue=Decimal("300.00"),
        ),
        "c": OpportunityFactory(
            customer=france,
            status=Status.CLOSED_WON,
            product="Accounting",
            expected_close_date=datetime.date(2025, 3, 15),
            est_monthly_revenue=Decimal("200.00"),
        ),
    }


def test_list_is_a_plain_array_in_close_date_order_in_one_query(reader, pipeline, django_assert_num_queries):
    """Without paging parameters: every opportunity with its customer, one data query (2 for auth:
    the token, the access entry)."""
    with django_assert_num_queries(3):
        response = reader.get(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == [_expected(pipeline[k]) for k in ("a", "b", "c")]


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("cid=2002", ["b"]),
        ("status=Closed Won", ["c"]),
        ("product=Payroll", ["a"]),
        ("forecast_category=Commit", ["b"]),
        ("area=France", ["a", "c"]),
        ("area=Germany", []),
        ("expected_close_date_from=2025-02-15", ["b", "c"]),
        ("expected_close_date_to=2025-02-14", ["a"]),
        ("expected_close_date_from=2025-02-01&expected_close_date_to=2025-02-28", ["b"]),
        ("ordering=-est_monthly_revenue", ["b", "c", "a"]),
        ("ordering=area,-expected_close_date", ["c", "a", "b"]),
        ("area=France&status=Prospecting", ["a"]),
    ],
)
def test_list_filters_and_ordering(reader, pipeline, query, keys):
    """Each filter (the customer's area included) and ordering select exactly the expected rows."""
    response = reader.get(f"{LIST_URL}?{query}")
    assert response.status_code == HTTPStatus.OK
    assert [row["oid"] for row in response.json()] == [pipeline[k].oid for k in keys]


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("status=Won", "status"),
        ("area=Austria", "area"),
        ("product=x", "product"),
        ("forecast_category=x", "forecast_category"),
        ("cid=abc", "cid"),
        ("expected_close_date_from=yesterday", "expected_close_date_from"),
        ("expected_close_date_to=2025-13-01", "expected_close_date_to"),
        ("ordering=colour", "ordering"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("stauts=Proposal", "stauts"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(reader, pipeline, query, attr):
    """A bad value or an unknown parameter is never silently ignored."""
    response = reader.get(f"{LIST_URL}?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(_attrs(response)) == [attr]


def test_list_pages_on_request_in_three_queries(reader, pipeline, django_assert_num_queries):
    """limit/offset switch to {count, next, previous, results}: a count, the page's oids read from the
    index (the skipped rows are never read whole), the page's rows with their customers."""
    with django_assert_num_queries(5):
        response = reader.get(f"{LIST_URL}?limit=1&offset=1")
    assert response.json() == {
        "count": 3,
        "next": "http://testserver/api/opportunities?limit=1&offset=2",
        "previous": "http://testserver/api/opportunities?limit=1",
        "results": [_expected(pipeline["b"])],
    }


def test_retrieve_returns_the_opportunity_with_an_etag(reader, pipeline):
    """GET one: the whole representation and a strong ETag; with or without trailing slash."""
    response = reader.get(_detail(pipeline["b"].oid))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _expected(pipeline["b"])
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    slash = reader.get(_detail(pipeline["b"].oid) + "/")
    assert (slash.status_code, slash["ETag"]) == (HTTPStatus.OK, response["ETag"])


def test_retrieve_of_an_unknown_oid_is_404(reader):
    """An absent oid answers 404 in the error shape."""
    response = reader.get(_detail("0" * 32))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "No opportunity with this oid.", "attr": None}],
    }


# --- Update and delete -------------------------------------------------------------------


@pytest.fixture
def proposal(customer):
    return OpportunityFactory(
        customer=customer,
        status=Status.PROPOSAL,
        probability=35,
        forecast_category="Best Case",
        opportunity_name="Expenses pilot",
        est_monthly_revenue=Decimal("2500.00"),
        expected_close_date=datetime.date(2025, 3, 31),
    )


def test_patch_with_the_current_etag_changes_only_the_given_fields(editor, proposal):
    """PATCH + If-Match of the current version: 200, the new row and a new ETag."""
    etag = editor.get(_detail(proposal.oid))["ETag"]
    before = _expected(proposal)
    response = editor.patch(
        _detail(proposal.oid), {"est_monthly_revenue": "2750.25"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == HTTPStatus.OK
    after = _expected(proposal)
    assert response.json() == after
    assert after == {**before, "est_monthly_revenue": "2750.25", "updated_at": after["updated_at"]}
    assert response["ETag"] != etag


def test_a_stale_if_match_is_412_and_changes_nothing(editor, proposal):
    """PUT and PATCH with a version that is no longer current are refused with 412."""
    stale = editor.get(_detail(proposal.oid))["ETag"]
    editor.patch(_detail(proposal.oid), {"opportunity_name": "Changed first"}, format="json")
    before = _expected(proposal)
    patch = editor.patch(_detail(proposal.oid), {"probability": 60}, format="json", HTTP_IF_MATCH=stale)
    put = editor.put(_detail(proposal.oid), _body(proposal.customer), format="json", HTTP_IF_MATCH=stale)
    weak = editor.patch(
        _detail(proposal.oid),
        {"probability": 60},
        format="json",
        HTTP_IF_MATCH="W/" + editor.get(_detail(proposal.oid))["ETag"],
    )
    for response in (patch, put, weak):
        assert response.status_code == HTTPStatus.PRECONDITION_FAILED
        assert response.json()["errors"][0]["code"] == "precondition_failed"
    assert _expected(proposal) == before


def test_if_match_star_and_no_if_match_let_the_update_through(editor, proposal):
    """Without If-Match (or with *), the update proceeds."""
    assert (
        editor.patch(_detail(proposal.oid), {"probability": 40}, format="json").status_code == HTTPStatus.OK
    )
    star = editor.patch(_detail(proposal.oid), {"probability": 45}, format="json", HTTP_IF_MATCH="*")
    assert star.status_code == HTTPStatus.OK
    assert Opportunity.objects.get(oid=proposal.oid).probability == 45


def test_put_replaces_the_record_and_omitted_optionals_take_the_defaults(editor, proposal, customer):
    """PUT is a full replacement: probability and category omitted -> the status defaults."""
    body = _body(customer, status="Negotiation", opportunity_name="Renewal", est_monthly_revenue=99)
    response = editor.put(_detail(proposal.oid), body, format="json")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _expected(proposal)
    assert {
        k: response.json()[k] for k in ("status", "probability", "forecast_category", "est_monthly_revenue")
    } == {
        "status": "Negotiation",
        "probability": 75,
        "forecast_category": "Commit",
        "est_monthly_revenue": "99.00",
    }


def test_put_needs_every_required_field(editor, proposal):
    """A PUT missing required fields is a 400 naming them; the row is unchanged."""
    before = _expected(proposal)
    response = editor.put(_detail(proposal.oid), {"opportunity_name": "Only a name"}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(_attrs(response)) == {"cid", "product", "status", "est_monthly_revenue", "expected_close_date"}
    assert _expected(proposal) == before


@pytest.mark.parametrize(
    ("changes", "attr", "code"),
    [
        ({"status": "Closed Won", "probability": 80}, "probability", "inconsistent_with_status"),
        ({"forecast_category": "Closed"}, "forecast_category", "inconsistent_with_status"),
        ({"cid": 424242}, "cid", "does_not_exist"),
        ({"opportunity_name": "y" * 256}, "opportunity_name", "max_length"),
        ({"oid_typo": "x"}, "oid_typo", "unknown_field"),
    ],
)
def test_patch_applies_the_rules_to_the_resulting_record(editor, proposal, changes, attr, code):
    """A PATCH that would break a rule is a 400 naming the field, and nothing changes."""
    before = _expected(proposal)
    response = editor.patch(_detail(proposal.oid), changes, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert _attrs(response) == {attr: code}
    assert _expected(proposal) == before


def test_a_weak_or_malformed_if_match_never_matches(editor, proposal):
    """If-Match compares strongly: W/"<etag>" or an unquoted tag is 412 and nothing changes."""
    etag = editor.get(_detail(proposal.oid))["ETag"]
    for header in (f"W/{etag}", etag.strip('"')):
        response = editor.patch(
            _detail(proposal.oid), {"probability": 40}, format="json", HTTP_IF_MATCH=header
        )
        assert response.status_code == HTTPStatus.PRECONDITION_FAILED, header
    assert Opportunity.objects.get(oid=proposal.oid).probability == proposal.probability


def test_if_match_with_the_current_etag_among_others_lets_the_update_through(editor, proposal):
    """If-Match: "stale", "<current>" matches the current version: 200."""
    etag = editor.get(_detail(proposal.oid))["ETag"]
    response = editor.patch(
        _detail(proposal.oid), {"probability": 40}, format="json", HTTP_IF_MATCH=f'"0123", {etag}'
    )
    assert response.status_code == HTTPStatus.OK
    assert Opportunity.objects.get(oid=proposal.oid).probability == 40


def test_patch_of_status_takes_the_new_defaults(editor, proposal):
    """Moving a deal to Closed Lost without probability/category sets 0 and Omitted."""
    response = editor.patch(_detail(proposal.oid), {"status": "Closed Lost"}, format="json")
    assert (response.json()["probability"], response.json()["forecast_category"]) == (0, "Omitted")


def test_update_of_an_unknown_oid_is_404(editor):
    """PUT/PATCH/DELETE of an absent opportunity answer 404."""
    assert (
        editor.patch(_detail("f" * 32), {"probability": 1}, format="json").status_code == HTTPStatus.NOT_FOUND
    )
    assert editor.delete(_detail("f" * 32)).status_code == HTTPStatus.NOT_FOUND


def test_delete_answers_204_and_the_opportunity_is_gone(editor, proposal):
    """DELETE removes the row; a second GET is 404."""
    response = editor.delete(_detail(proposal.oid))
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Opportunity.objects.filter(oid=proposal.oid).exists()
    assert editor.get(_detail(proposal.oid)).status_code == HTTPStatus.NOT_FOUND


# --- Permissions -------------------------------------------------------------------------

WRITES = [
    ("post", "list"),
    ("put", "detail"),
    ("patch", "detail"),
    ("delete", "detail"),
]


@pytest.mark.parametrize(("method", "target"), [("get", "list"), ("get", "detail"), *WRITES])
def test_anonymous_gets_401_everywhere(api_client, proposal, method, target):
    """No credentials: 401 on every method, nothing changes."""
    url = LIST_URL if target == "list" else _detail(proposal.oid)
    before = _expected(proposal)
    response = getattr(api_client, method)(url, _body(proposal.customer), format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _expected(proposal) == before
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize(("method", "target"), WRITES)
def test_a_reader_gets_403_on_every_write(reader, proposal, method, target):
    """view_opportunity alone: every write is refused with 403 and changes nothing."""
    url = LIST_URL if target == "list" else _detail(proposal.oid)
    before = _expected(proposal)
    response = getattr(reader, method)(url, _body(proposal.customer), format="json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert _expected(proposal) == before
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize(
    ("perm", "method", "target", "expected"),
    [
        ("crm.add_opportunity", "post", "list", HTTPStatus.CREATED),
        ("crm.change_opportunity", "patch", "detail", HTTPStatus.OK),
        ("crm.delete_opportunity", "delete", "detail", HTTPStatus.NO_CONTENT),
        ("crm.change_opportunity", "post", "list", HTTPStatus.FORBIDDEN),
        ("crm.add_opportunity", "patch", "detail", HTTPStatus.FORBIDDEN),
        ("crm.change_opportunity", "delete", "detail", HTTPStatus.FORBIDDEN),
    ],
)
def test_each_write_needs_its_own_permission(proposal, perm, method, target, expected):
    """add/change/delete_opportunity each open exactly their own method."""
    client = _client([*READER_PERMS, perm])
    url = LIST_URL if target == "list" else _detail(proposal.oid)
    body = _body(proposal.customer) if method == "post" else {"probability": 40}
    assert getattr(client, method)(url, body, format="json").status_code == expected


def test_a_user_without_view_permission_gets_403_on_reads(proposal):
    """An authenticated user in no group cannot list or read opportunities."""
    client = _client([])
    assert client.get(LIST_URL).status_code == HTTPStatus.FORBIDDEN
    assert client.get(_detail(proposal.oid)).status_code == HTTPStatus.FORBIDDEN


def test_a_patch_takes_a_fixed_number_of_queries(editor, proposal, django_assert_num_queries):
    """Auth (2: the token, the access entry), lookup, row lock, UPDATE, read-back, history INSERT;
    plus savepoints."""
    with django_assert_num_queries(9):
        response = editor.patch(_detail(proposal.oid), {"probability": 41}, format="json")
    assert response.status_code == HTTPStatus.OK


@pytest.fixture
def committed_proposal(transactional_db):
    """A committed opportunity for tests with real transactions; removed afterwards.

    transactional_db does not clean the unmanaged tables, so this fixture does.
    """
    customer = CustomerFactory(cid=777002, customer_name="Gleichzeitig AG", area="Switzerland")
    opportunity = OpportunityFactory(customer=customer, status=Status.PROPOSAL, probability=50)
    yield opportunity
    Opportunity.objects.filter(customer_id=customer.cid).delete()
    customer.delete()


@pytest.mark.mysql
def test_two_concurrent_patches_with_one_etag_let_exactly_one_through(committed_proposal):
    """Two editors holding the same ETag, released at once: one 200, one 412; the winner's change stays."""
    etag = _client(EDITOR_PERMS).get(_detail(committed_proposal.oid))["ETag"]
    clients = [_client(EDITOR_PERMS) for _ in range(2)]
    barrier = threading.Barrier(2)
    results = {}

    def patch(index: int):
        try:
            barrier.wait()
            results[index] = clients[index].patch(
                _detail(committed_proposal.oid),
                {"probability": 60 + index},
                format="json",
                HTTP_IF_MATCH=etag,
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [HTTPStatus.OK, HTTPStatus.PRECONDITION_FAILED]
    winner = next(i for i, r in results.items() if r.status_code == HTTPStatus.OK)
    assert Opportunity.objects.get(oid=committed_proposal.oid).probability == 60 + winner


@pytest.mark.parametrize(
    ("method", "target"), [("put", "list"), ("patch", "list"), ("delete", "list"), ("post", "detail")]
)
def test_a_method_the_endpoint_lacks_is_405_even_for_a_reader(reader, proposal, method, target):
    """405 comes before the permission check: a reader is not told "403, someone else may"."""
    url = LIST_URL if target == "list" else _detail(proposal.oid)
    response = getattr(reader, method)(url, {}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
