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
