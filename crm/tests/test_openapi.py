"""The OpenAPI schema generates cleanly and the documentation pages answer."""

from http import HTTPStatus

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(openapi_schema):
    return openapi_schema


def test_the_schema_validates_without_a_warning(schema):
    """Schema generation with validation succeeds and fails on any warning; it is titled APP_NAME."""
    assert schema["info"]["title"] == settings.APP_NAME


def test_the_customer_list_documents_every_parameter_and_error(schema):
    """Every filter, search, ordering, paging and each error response of GET /api/customers is documented."""
    operation = schema["paths"]["/api/customers"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "area",
        "account_executive",
        "technical_specialist",
        "industry",
        "contract_type",
        "is_active",
        "is_key_account",
        "search",
        "ordering",
        "limit",
        "offset",
        "page_size",
        "cursor",
    }
    assert {"200", "400", "401", "403", "405", "406", "429", "500", "503"} <= set(operation["responses"])
    area = next(p for p in operation["parameters"] if p["name"] == "area")
    # Several values allowed (?area=France&area=UK means either), each from the vocabulary.
    assert area["schema"]["type"] == "array"
    assert area["schema"]["items"]["enum"] == ["France", "Germany", "Netherlands", "Switzerland", "UK"]


@pytest.mark.parametrize(
    "path", ["/api/opportunities", "/api/customers/{cid}/opportunities", "/api/customers"]
)
def test_cursor_pages_are_in_the_contract(schema, path):
    """page_size (1-1000) and cursor are documented with the {next, previous, results} body and 400s."""
    operation = schema["paths"][path]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["cursor"]["schema"]["type"] == "string"
    assert parameters["offset"]["schema"]["maximum"] == 10_000
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    cursor_page = next(
        member
        for member in body["oneOf"]
        if member.get("properties", {}).keys() == {"next", "previous", "results"}
    )
    assert cursor_page["required"] == ["next", "previous", "results"]
    assert cursor_page["additionalProperties"] is False
    errors = str(schema["components"]["schemas"])
    for name in ("PageSize", "Cursor"):
        assert f"{name}ErrorComponent" in errors


def test_the_revenue_lists_page_with_limit_and_offset_only(schema):
    """Small tables: no cursor parameters on the revenue lists."""
    names = {p["name"] for p in schema["paths"]["/api/revenue/actuals"]["get"]["parameters"]}
    assert {"limit", "offset"} <= names
    assert not names & {"page_size", "cursor"}


def test_the_customer_detail_documents_404_in_the_error_shape(schema):
    """GET /api/customers/{cid} documents its 404 with the standard error body."""
    responses = schema["paths"]["/api/customers/{cid}"]["get"]["responses"]
    assert responses["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse404"
    }
    assert "503" in responses


def test_customers_document_no_writes(schema):
    """The read-only customer endpoints list GET only."""
    assert set(schema["paths"]["/api/customers"]) == {"get"}
    assert set(schema["paths"]["/api/customers/{cid}"]) == {"get"}


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/", "/api/schema", "/api/docs"])
def test_the_documentation_pages_answer(client, url):
    """The schema, Swagger UI and ReDoc answer 200 (with or without the slash)."""
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert settings.APP_NAME in response.content.decode()
