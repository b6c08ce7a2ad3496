"""Thin API views: parse the request, call a selector or service, render.

One module per area: customers, opportunities (with the vocabulary), revenue (with the
forecast and the data-quality report), imports (the workbook import); common holds what they share.
"""

from .customers import CustomerViewSet
from .imports import ImportView
from .opportunities import CustomerOpportunityListView, OpportunityViewSet, VocabularyView
from .revenue import DataQualityView, ForecastView, RevenueActualViewSet, RevenueTargetViewSet

__all__ = [
    "CustomerOpportunityListView",
    "CustomerViewSet",
    "DataQualityView",
    "ForecastView",
    "ImportView",
    "OpportunityViewSet",
    "RevenueActualViewSet",
    "RevenueTargetViewSet",
    "VocabularyView",
]
