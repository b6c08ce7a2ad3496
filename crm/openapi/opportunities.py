"""What the opportunity endpoints and the vocabulary declare in the OpenAPI schema."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors

from ..serializers import OpportunityInputSerializer, OpportunitySerializer, VocabularySerializer
from ..services import IDEMPOTENCY_KEY_MAX_LENGTH
from .autoschema import ErrorResponse409Serializer, ErrorResponse412Serializer, ErrorResponse422Serializer
from .customers import CID_PARAMETER, CUSTOMER_NOT_FOUND

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
WRITE_METHODS = ["POST", "PUT", "PATCH"]
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY_HEADER,
    # Not blank: at least one character that is not white space.
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "pattern": "\\S"},
    OpenApiParameter.HEADER,
    description=(
        f"Up to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, unique per client request, kept at least 24 "
        "hours per user. A retry with the same key and body returns the first response (header "
        "`Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 422; "
        "a retry while the first request still runs is a 409. A request that failed (4xx/5xx) is not "
        "remembered: the key may be used again."
    ),
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The `ETag` of the version read, e.g. `"3f2a…"`. If the opportunity changed since, '
    "the answer is 412 and nothing changes. Without the header (or with `*`) the write proceeds.",
)
ETAG_HEADER = OpenApiResponse(
    OpportunitySerializer, description="The opportunity; `ETag` header: its version."
)
# Response headers, so generated clients can read them (not only the prose).
ETAG_RESPONSE_HEADER = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The version of the opportunity returned, e.g. `"3f2a…"`: send it back as `If-Match`. '
    "Absent on a replayed create (`Idempotent-Replayed: true`).",
)
LOCATION_RESPONSE_HEADER = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[201],
    description="The created opportunity's URL.",
)
IDEMPOTENT_REPLAYED_RESPONSE_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=[201],
    description="`true` when this is the stored answer of an earlier request with the same "
    "`Idempotency-Key` (nothing was created now); absent otherwise.",
)

OPPORTUNITY_EXAMPLE = {
    "oid": "5b0d2c61f1d04c7c9a0f3e8e2b7d4a19",
    "cid": 1001,
    "customer_name": "Société Générale Assurances",
    "area": "France",
    "opportunity_name": "Payroll roll-out Île-de-France",
    "product": "Payroll",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
    "created_at": "2024-12-15T09:30:12.345678Z",
    "updated_at": "2024-12-15T09:30:12.345678Z",
}
WRITE_ERRORS = {
    409: OpenApiResponse(
        ErrorResponse409Serializer, description="A request with this Idempotency-Key is still running."
    ),
    422: OpenApiResponse(
        ErrorResponse422Serializer, description="This Idempotency-Key was used with another body."
    ),
}
OID_PARAMETER = OpenApiParameter(
    "oid",
    {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    OpenApiParameter.PATH,
    description="Opportunity id: 32 lower-case hex digits, compared exactly (anything else is a 404).",
)
NOT_FOUND = OpenApiResponse(ErrorResponse404Serializer, description="No opportunity with this oid.")
STALE = OpenApiResponse(
    ErrorResponse412Serializer, description="If-Match does not match the current version."
)

_viewset = extend_schema_view(
    list=extend_schema(
        summary="List opportunities",
        description=(
            "Opportunities matching the filters, each with its customer's name and area, ordered by "
            "`expected_close_date`, `oid` unless `ordering` says otherwise. Without `limit`/`offset` the "
            "body is a plain JSON array. Any other query parameter is a 400 (`unknown_parameter`)."
        ),
    ),
    retrieve=extend_schema(
        summary="One opportunity",
        parameters=[OID_PARAMETER, ETAG_RESPONSE_HEADER],
        responses={200: ETAG_HEADER, 404: NOT_FOUND},
        examples=[OpenApiExample("An opportunity", value=OPPORTUNITY_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create an opportunity",
        description=(
            "`cid`, `opportunity_name`, `product`, `status`, `est_monthly_revenue`, `expected_close_date` "
            "are required; `probability` and `forecast_category` default from the status (see "
            "/api/vocabulary). Unknown fields are a 400 (`unknown_field`, `attr` = the field); `oid`, "
            "`customer_name`, `area`, `created_at`, `updated_at` are ignored. Answers 201 with `Location` "
            "and `ETag`."
        ),
        parameters=[
            IDEMPOTENCY_KEY_PARAMETER,
            ETAG_RESPONSE_HEADER,
            LOCATION_RESPONSE_HEADER,
            IDEMPOTENT_REPLAYED_RESPONSE_HEADER,
        ],
        request=OpportunityInputSerializer,
        responses={201: ETAG_HEADER, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace an opportunity",
        description=(
            "Same body and rules as create. Omitted `probability`/`forecast_category` take the status "
            "default."
        ),
        parameters=[OID_PARAMETER, IF_MATCH_PARAMETER, ETAG_RESPONSE_HEADER],
        request=OpportunityInputSerializer,
        responses={200: ETAG_HEADER, 404: NOT_FOUND, 412: STALE},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an opportunity",
        description=(
            "Only the fields sent change; the rules apply to the resulting record. A new `status` without "
            "`probability`/`forecast_category` takes the new status's defaults for them."
        ),
        parameters=[OID_PARAMETER, IF_MATCH_PARAMETER, ETAG_RESPONSE_HEADER],
        request=OpportunityInputSerializer(partial=True),
        responses={200: ETAG_HEADER, 404: NOT_FOUND, 412: STALE},
    ),
    destroy=extend_schema(
        summary="Delete an opportunity",
        description=(
            "With `If-Match`, only the version read is deleted: a changed opportunity is a 412 and stays. "
            "Of concurrent deletes of one opportunity exactly one answers 204; the others 404."
        ),
        parameters=[OID_PARAMETER, IF_MATCH_PARAMETER],
        responses={204: OpenApiResponse(description="Deleted."), 404: NOT_FOUND, 412: STALE},
    ),
)
# Codes the service's rules raise (crm/services/opportunities.py), which no serializer field declares.
_RULE_ERRORS = [
    extend_validation_errors(["invalid"], field_name=IDEMPOTENCY_KEY_HEADER, methods=["POST"]),
    extend_validation_errors(
        ["min_value", "max_value"], field_name="est_monthly_revenue", methods=WRITE_METHODS
    ),
    extend_validation_errors(["does_not_exist"], field_name="cid", methods=WRITE_METHODS),
    extend_validation_errors(
        ["out_of_range", "inconsistent_with_status"], field_name="probability", methods=WRITE_METHODS
    ),
    extend_validation_errors(
        ["inconsistent_with_status"], field_name="forecast_category", methods=WRITE_METHODS
    ),
    extend_validation_errors(["blank", "max_length"], field_name="opportunity_name", methods=WRITE_METHODS),
]


def opportunity_viewset(view_class):
    for declare in [*reversed(_RULE_ERRORS), _viewset]:
        view_class = declare(view_class)
    return view_class


customer_opportunity_list = extend_schema(
    summary="A customer's opportunities",
    description="Same filters, ordering and opt-in paging as GET /api/opportunities.",
    filters=True,
    parameters=[CID_PARAMETER],
    responses={200: OpportunitySerializer(many=True), 404: CUSTOMER_NOT_FOUND},
)

vocabulary_get = extend_schema(
    summary="The CRM vocabulary",
    description="Allowed areas, statuses, products and forecast categories, and each status's defaults.",
    responses={200: VocabularySerializer},
)
