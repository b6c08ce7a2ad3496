"""The schema states what a generated client needs: headers, one cid, which ids are valid."""

import pytest


@pytest.fixture
def paths(openapi_schema):
    return openapi_schema["paths"]


def _response_headers(operation, status: str) -> set[str]:
    return set(operation["responses"][status].get("headers", {}))


def _header_parameters(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_etag_location_and_replay_are_declared_response_headers(paths):
    """ETag on every answer with an opportunity; Location and Idempotent-Replayed on the 201."""
    detail = paths["/api/opportunities/{oid}"]
    create = paths["/api/opportunities"]["post"]
    assert _response_headers(create, "201") == {"ETag", "Location", "Idempotent-Replayed"}
    for method in ("get", "put", "patch"):
        assert _response_headers(detail[method], "200") == {"ETag"}
    assert create["responses"]["201"]["headers"]["Idempotent-Replayed"]["schema"] == {
        "type": "string",
        "enum": ["true"],
    }


def test_if_match_and_idempotency_key_are_declared_header_parameters(paths):
    """If-Match on PUT, PATCH and DELETE (each with its 412); Idempotency-Key on the create."""
    detail = paths["/api/opportunities/{oid}"]
    for method in ("put", "patch", "delete"):
        assert _header_parameters(detail[method]) == {"If-Match"}
        assert "412" in detail[method]["responses"]
    assert _header_parameters(paths["/api/opportunities"]["post"]) == {"Idempotency-Key"}


def test_the_oid_is_declared_as_32_lower_case_hex_digits(paths):
    """The path parameter's pattern is the one the server enforces."""
    for operation in paths["/api/opportunities/{oid}"].values():
        (oid,) = [p for p in operation["parameters"] if p["name"] == "oid"]
        assert oid["schema"]["pattern"] == "^[0-9a-f]{32}$"


def test_a_customers_opportunities_declare_cid_once_as_a_list(paths):
    """One `cid` (the path's), and an operation id that says it returns a list."""
    operation = paths["/api/customers/{cid}/opportunities"]["get"]
    assert [(p["name"], p["in"]) for p in operation["parameters"] if p["name"] == "cid"] == [("cid", "path")]
    assert operation["operationId"] == "customers_opportunities_list"


VOCABULARY_FIELDS = {"area", "status", "product", "forecast_category"}


def _output_schemas(openapi_schema):
    """Every component a response uses that carries database values.

    Left out: request bodies, error shapes, the vocabulary itself (its lists are the enums), and
    the import report, whose ``status`` is the import's own outcome, not a column.
    """
    return {
        name: component
        for name, component in openapi_schema["components"]["schemas"].items()
        if not name.endswith("Request")
        and "Error" not in name
        and name != "Vocabulary"
        and not name.startswith("Import")
    }


def test_every_read_of_a_vocabulary_column_is_a_plain_string(openapi_schema):
    """Area, status, product and forecast category are strings in every answer (legacy rows hold any text)."""
    seen = set()
    for name, component in _output_schemas(openapi_schema).items():
        for field, schema in component.get("properties", {}).items():
            if field in VOCABULARY_FIELDS:
                seen.add((name, field))
                assert "$ref" not in schema and "enum" not in schema and "allOf" not in schema, (name, field)
                assert schema["type"] == "string" or schema.get("type") == ["string", "null"], (name, field)
    assert {("Opportunity", "area"), ("RevenueActual", "area"), ("RevenueTarget", "area")} <= seen
