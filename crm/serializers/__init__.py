"""API representations, one module per entity. Money is a decimal string with 2 places, never a float.

``fields`` holds the strict input fields the write bodies share; every rule's message comes
from ``crm.messages``.
"""

from .customers import CUSTOMER_FIELDS, CustomerSerializer, customer_rows_to_dicts
from .opportunities import (
    OpportunityInputSerializer,
    OpportunitySerializer,
    StatusDefaultsSerializer,
    VocabularySerializer,
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
    "CustomerSerializer",
    "DataQualityReportSerializer",
    "DataQualityRuleSerializer",
    "ForecastQuerySerializer",
    "ForecastRowSerializer",
    "ForecastSerializer",
    "OpportunityInputSerializer",
    "OpportunitySerializer",
    "RevenueActualSerializer",
    "RevenueTargetSerializer",
    "StatusDefaultsSerializer",
    "VocabularySerializer",
    "customer_rows_to_dicts",
]
