"""The OpenAPI schema documents the opportunity endpoints and generates without warnings."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_without_warnings_and_documents_opportunity_errors(tmp_path):
    """409/412/422 and the Idempotency-Key/If-Match headers appear where they apply."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for text in (
        "/api/opportunities/:",
        "/api/opportunities/{oid}/:",
        "/api/customers/{cid}/opportunities/:",
        "/api/vocabulary/:",
        "Idempotency-Key",
        "If-Match",
        "'409':",
        "'412':",
        "'422':",
    ):
        assert text in schema, text
