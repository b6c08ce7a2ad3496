"""What the revenue, forecast and data-quality endpoints declare in the OpenAPI schema."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

from ..serializers import DataQualityReportSerializer, ForecastQuerySerializer, ForecastSerializer

revenue_actual_viewset = extend_schema_view(
    list=extend_schema(
        summary="Monthly revenue actuals",
        description="Realised revenue per area and month (the first day of the month), ordered by area "
        "and month. A plain array; with `limit` (at most 1000) and `offset` a page "
        "`{count, next, previous, results}`. Needs `crm.view_revenueactual`.",
    )
)

revenue_target_viewset = extend_schema_view(
    list=extend_schema(
        summary="Revenue targets",
        description="Target per area and fiscal year, ordered by area and fiscal year. A plain array; "
        "with `limit`/`offset` a page. Needs `crm.view_revenuetarget`.",
    )
)

forecast_view = extend_schema(
    summary="Fiscal-year forecast per area",
    description="Per area and in total: target, actuals to date, run-rate projection, weighted "
    "pipeline, projected total, gap and attainment (formula: docs/forecast.md). Money as strings "
    "with 2 places, percentages with 1, rounded half up. Only the caller's areas have rows "
    "(area scopes, docs/api.md); the total is over them, with a target only when each of them "
    "has one (none for a caller without areas, whose answer has no row). Needs "
    "`crm.view_opportunity`, `crm.view_revenueactual` and `crm.view_revenuetarget`.",
    parameters=[ForecastQuerySerializer],
    responses={200: ForecastSerializer},
)

data_quality_view = extend_schema(
    summary="Data-quality report",
    description="Every rule over customers, opportunities and revenue with its level (error or "
    "warning), the number of rows breaking it and up to 20 example keys. Reads only. Same "
    "`fiscal_year`/`as_of` parameters and defaults as the forecast. Counts only rows of the "
    "caller's areas (area scopes, docs/api.md): customers by their area, opportunities by their "
    "customer's, actuals and targets by theirs; rows of a legacy area spelling only for a caller "
    "with every area. Needs view permission on customers, opportunities and revenue.",
    parameters=[ForecastQuerySerializer],
    responses={200: DataQualityReportSerializer},
    examples=[
        OpenApiExample(
            "One broken rule",
            value={
                "fiscal_year": 2025,
                "as_of": "2024-12-15",
                "errors": 1,
                "warnings": 0,
                "rules": [
                    {
                        "id": "customer.area_unknown",
                        "entity": "customer",
                        "level": "error",
                        "description": "Customer area outside the five areas.",
                        "count": 1,
                        "examples": ["9001"],
                    }
                ],
            },
            response_only=True,
        )
    ],
)
