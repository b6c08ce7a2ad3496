"""What the customer endpoints declare in the OpenAPI schema."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer

from ..serializers import CustomerSerializer

UNKNOWN_PARAMETER_NOTE = (
    "Any other query parameter is a 400 (`unknown_parameter`, `attr` = its name) rather than "
    "being ignored; `format` (`json`, `api`) is accepted."
)
CID_PARAMETER = OpenApiParameter("cid", int, OpenApiParameter.PATH, description="Customer id.")
CUSTOMER_NOT_FOUND = OpenApiResponse(ErrorResponse404Serializer, description="No customer with this cid.")

customer_viewset = extend_schema_view(
    list=extend_schema(
        summary="List customers",
        description=(
            "Every customer matching the filters, ordered by `cid` unless `ordering` says otherwise. "
            "Without `limit`/`offset` the body is a plain JSON array of all matching customers. "
            + UNKNOWN_PARAMETER_NOTE
        ),
        examples=[
            # One row: the schema generator shows it as a page of one.
            OpenApiExample(
                "A page",
                value={
                    "cid": 1001,
                    "customer_name": "Société Générale Assurances",
                    "area": "France",
                    "account_executive": "Camille Martin",
                    "technical_specialist": None,
                    "industry": "Financial Services",
                    "contract_type": "Multi-year",
                    "contract_start_date": "2023-07-01",
                    "contract_end_date": "2026-06-30",
                    "is_active": True,
                    "is_key_account": True,
                },
                response_only=True,
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="One customer",
        parameters=[CID_PARAMETER],
        responses={200: CustomerSerializer, 404: CUSTOMER_NOT_FOUND},
    ),
)
