"""API representations, one module per entity. Money is a decimal string with 2 places, never a float.

``fields`` holds the strict input fields the write bodies share; every rule's message comes
from ``crm.messages``.
"""

from .access import MeSerializer
from .customers import CUSTOMER_FIELDS, CustomerSerializer, customer_rows_to_dicts
from .history import (
    ChangeFeedQuerySerializer,
    ChangeFeedSerializer,
    ChangePageSerializer,
    ChangeSerializer,
    HistoryQuerySerializer,
    StageSerializer,
    history_cursor,
)
from .opportunities import (
    OPPORTUNITY_COLUMNS,
    OPPORTUNITY_FIELDS,
    OpportunityInputSerializer,
    OpportunitySerializer,
    StatusDefaultsSerializer,
    VocabularySerializer,
    opportunity_rows_to_dicts,
    opportunity_rows_to_json,
    opportunity_to_dict,
)
from .revenue import (
    DataQualityReportSerializer,
    DataQualityRuleSerializer,
    ForecastQuerySerializer,
    ForecastRowSerializer,
    ForecastSerializer,
    RevenueActualSerializer,
    RevenueTargetSerializer,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "OPPORTUNITY_COLUMNS",
    "OPPORTUNITY_FIELDS",
    "ChangeFeedQuerySerializer",
    "ChangeFeedSerializer",
    "ChangePageSerializer",
    "ChangeSerializer",
    "CustomerSerializer",
    "DataQualityReportSerializer",
    "DataQualityRuleSerializer",
    "ForecastQuerySerializer",
    "ForecastRowSerializer",
    "ForecastSerializer",
    "HistoryQuerySerializer",
    "MeSerializer",
    "OpportunityInputSerializer",
    "OpportunitySerializer",
    "RevenueActualSerializer",
    "RevenueTargetSerializer",
    "StageSerializer",
    "StatusDefaultsSerializer",
    "VocabularySerializer",
    "customer_rows_to_dicts",
    "history_cursor",
    "opportunity_rows_to_dicts",
    "opportunity_rows_to_json",
    "opportunity_to_dict",
]
