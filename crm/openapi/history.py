"""What the change-history endpoints declare in the OpenAPI schema."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer

from ..serializers import (
    ChangeFeedQuerySerializer,
    ChangeFeedSerializer,
    ChangePageSerializer,
    HistoryQuerySerializer,
    StageSerializer,
)
from .opportunities import OID_PARAMETER

NOT_RECORDED = OpenApiResponse(
    ErrorResponse404Serializer, description="No change was ever recorded for this oid."
)
HISTORY_OID_PARAMETER = OpenApiParameter(
    "oid", str, OpenApiParameter.PATH, description=OID_PARAMETER.description + " It may have been deleted."
)

_CREATED = {
    "position": 41,
    "entity": "opportunity",
    "key": "5b0d2c61f1d04c7c9a0f3e8e2b7d4a19",
    "cid": 1001,
    "area": "France",
    "action": "created",
    "changes": {
        "cid": [None, 1001],
        "opportunity_name": [None, "Payroll roll-out"],
        "product": [None, "Payroll"],
        "status": [None, "Proposal"],
        "est_monthly_revenue": [None, "1234.50"],
        "probability": [None, 50],
        "forecast_category": [None, "Best Case"],
        "expected_close_date": [None, "2025-03-31"],
    },
    "actor": "camille",
    "source": "api",
    "request_id": "3f1e0c2a9b8d4e7f8a6b5c4d3e2f1a0b",
    "import_id": None,
    "at": "2026-12-01T09:30:12.345678Z",
}
_UPDATED = {
    **_CREATED,
    "position": 57,
    "action": "updated",
    "changes": {
        "status": ["Proposal", "Negotiation"],
        "probability": [50, 75],
        "forecast_category": ["Best Case", "Commit"],
    },
    "actor": "ops-lead",
    "source": "admin",
    "request_id": "b7a1c9e2d3f44a5b8c6d7e8f9a0b1c2d",
    "at": "2026-12-03T14:02:55.120034Z",
}

opportunity_history = extend_schema(
    summary="An opportunity's change history",
    description=(
        "Every recorded create, update and delete of the opportunity, oldest first: who (`actor`), "
        "through which door (`source`), in which request (`request_id`), when (`at`, database time) "
        "and what changed (`changes`: `{field: [old, new]}`). Keeps answering after the opportunity "
        "is deleted; 404 only for an oid with no recorded change. Cursor pages: follow `next` "
        "(null after the last page). Needs `crm.view_opportunity`."
    ),
    parameters=[HISTORY_OID_PARAMETER, HistoryQuerySerializer],
    responses={200: ChangePageSerializer, 404: NOT_RECORDED},
    examples=[
        OpenApiExample(
            "Created, then moved to Negotiation in the admin",
            value={"next": None, "results": [_CREATED, _UPDATED]},
            response_only=True,
        )
    ],
)

opportunity_stages = extend_schema(
    summary="The stages an opportunity went through",
    description=(
        "Each status the deal has been in, oldest first, derived from its history: `entered_at`, "
        "`exited_at` (null for the current status; the deletion time for a deleted deal's last) and "
        "`days` spent in it (up to now for the current one). `entered_at` is null for a status the "
        "deal already had when its history begins. Needs `crm.view_opportunity`."
    ),
    parameters=[HISTORY_OID_PARAMETER],
    responses={200: StageSerializer(many=True), 404: NOT_RECORDED},
    examples=[
        OpenApiExample(
            "Proposal for two days, now in Negotiation",
            value=[
                {
                    "status": "Proposal",
                    "entered_at": "2026-12-01T09:30:12.345678Z",
                    "exited_at": "2026-12-03T14:02:55.120034Z",
                    "days": 2.19,
                },
                {
                    "status": "Negotiation",
                    "entered_at": "2026-12-03T14:02:55.120034Z",
                    "exited_at": None,
                    "days": 4.7,
                },
            ],
            response_only=True,
        )
    ],
)

change_feed = extend_schema(
    summary="The change feed",
    description=(
        "Every recorded change across the CRM (opportunities; customers and revenue rows changed in "
        "the admin) in commit order, each with its `position`. Start with `position=0` (or none), then "
        "keep following `next`, also when a page is empty: a consumer that polls its last `next` gets "
        "every change exactly once, even when transactions commit in another order than they began "
        "(how: docs/architecture.md). Filters combine with the position. Needs `crm.view_change`."
    ),
    filters=True,
    parameters=[ChangeFeedQuerySerializer],
    responses={200: ChangeFeedSerializer},
    examples=[
        OpenApiExample(
            "A page of two",
            value={
                "next": "http://localhost:8000/api/changes?page_size=2&position=57",
                "results": [_CREATED, _UPDATED],
            },
            response_only=True,
        )
    ],
)
