"""The OpenAPI schema documents the opportunity endpoints and generates without warnings."""


def test_schema_validates_and_documents_the_opportunity_headers_and_errors(openapi_schema):
    """Idempotency-Key and 409/422 on create, If-Match and 412 on updates; no warnings."""
    # Paths may be documented with or without the optional trailing slash.
    paths = {path.rstrip("/"): ops for path, ops in openapi_schema["paths"].items()}

    def documented(path, method):
        op = paths[path][method]
        return set(op["responses"]), {p["name"] for p in op.get("parameters", [])}

    responses, parameters = documented("/api/opportunities", "post")
    assert {"201", "400", "401", "403", "409", "422"} <= responses
    assert "Idempotency-Key" in parameters
    for method in ("put", "patch"):
        responses, parameters = documented("/api/opportunities/{oid}", method)
        assert {"200", "400", "404", "412"} <= responses
        assert "If-Match" in parameters
    responses, parameters = documented("/api/opportunities", "get")
    assert {"area", "status", "expected_close_date_from", "expected_close_date_to", "limit"} <= parameters
    assert "/api/customers/{cid}/opportunities" in paths
    assert "/api/vocabulary" in paths
