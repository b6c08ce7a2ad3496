"""What the forecast snapshot and movement endpoints declare in the OpenAPI schema."""

from drf_spectacular.utils import OpenApiExample, extend_schema

from ..serializers.movement import (
    ForecastSnapshotSerializer,
    MovementQuerySerializer,
    MovementSerializer,
    SnapshotQuerySerializer,
)

_PERMS = (
    "Needs `crm.view_opportunity`, `crm.view_revenueactual` and `crm.view_revenuetarget` (as the forecast)."
)

snapshot_list = extend_schema(
    summary="Stored daily forecasts",
    description="The forecast rows `manage.py snapshot_forecast` stored for a fiscal year, oldest day "
    "first and each day in the forecast's order (the areas, then `Total`). `area` keeps one row per "
    "day; `from`/`to` bound the day (inclusive). A caller granted some areas only (area scopes, "
    "docs/api.md) gets those areas' stored rows and, per day, a `Total` computed over them (its "
    "target only when each has one). An unknown or repeated parameter is a 400 naming it. " + _PERMS,
    parameters=[SnapshotQuerySerializer],
    responses={200: ForecastSnapshotSerializer(many=True)},
    examples=[
        OpenApiExample(
            "Germany, demo data",
            value=[
                {
                    "area": "Germany",
                    "target": "7910000.00",
                    "actuals_to_date": "3093217.88",
                    "last_actual_month": "2024-11-01",
                    "run_rate": "619359.18",
                    "remaining_months": 7,
                    "run_rate_projection": "4335514.26",
                    "weighted_pipeline": "53110.00",
                    "projected_total": "7481842.14",
                    "gap_to_target": "428157.86",
                    "attainment_pct": "39.1",
                    "projected_attainment_pct": "94.6",
                    "open_pipeline_count": 8,
                    "open_pipeline_mrr": "52600.00",
                    "fiscal_year": 2025,
                    "as_of": "2024-12-01",
                    "taken_at": "2026-12-02T02:12:10.367666Z",
                }
            ],
            response_only=True,
        )
    ],
)

movement = extend_schema(
    summary="Pipeline movement between two days (waterfall)",
    description="Per area and in total: the pipeline when `from` began and when `to` ended, and the change "
    "between them split into buckets (new, deleted, won, lost, slipped, pulled_in, increased, decreased, "
    "and unexplained for deals written outside the service), so that start + the buckets = end exactly, "
    "to the cent, for the open-deal count, the unweighted revenue of open deals and the weighted pipeline "
    "(definitions and a worked example: docs/forecast.md). Rebuilt from the change history: a `from` "
    "before its first entry is a 400 naming `from` and the first day that can be answered. "
    "`detail=true` lists each bucket's deals with their values at both ends. Only the caller's areas "
    "have rows and the total is over them (area scopes, docs/api.md); a deal moved between one of "
    "them and another area leaves or arrives with its whole value, and in `detail` its state at the "
    "end outside the caller's areas is null. An unknown or repeated parameter is a 400 naming it. " + _PERMS,
    parameters=[MovementQuerySerializer],
    responses={200: MovementSerializer},
)
