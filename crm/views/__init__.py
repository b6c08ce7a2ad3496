"""Thin API views: parse the request, call a selector or service, render.

One module per area: access (the caller), customers, opportunities (with the vocabulary), revenue (with the
forecast and the data-quality report), imports (the workbook import), history (an
opportunity's changes, the change feed); common holds what they share.
"""

from .access import MeView
from .customers import CustomerViewSet
from .history import ChangeFeedView, OpportunityHistoryView, OpportunityStagesView
from .imports import ImportView
from .movement import ForecastMovementView, ForecastSnapshotView
from .opportunities import CustomerOpportunityListView, OpportunityViewSet, VocabularyView
from .revenue import DataQualityView, ForecastView, RevenueActualViewSet, RevenueTargetViewSet

__all__ = [
    "ChangeFeedView",
    "CustomerOpportunityListView",
    "CustomerViewSet",
    "DataQualityView",
    "ForecastMovementView",
    "ForecastSnapshotView",
    "ForecastView",
    "ImportView",
    "MeView",
    "OpportunityHistoryView",
    "OpportunityStagesView",
    "OpportunityViewSet",
    "RevenueActualViewSet",
    "RevenueTargetViewSet",
    "VocabularyView",
]
