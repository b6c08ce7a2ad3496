from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
# Answer "/api/customers" and "/api/customers/" alike, directly: a redirect would drop a
# POST body and double every client's round trips.
router.trailing_slash = "/?"

# --- Customers -----------------------------------------------------------------------
router.register("customers", views.CustomerViewSet, basename="customer")

# --- Revenue, forecast and data quality ------------------------------------------------
router.register("revenue/actuals", views.RevenueActualViewSet, basename="revenue-actual")
router.register("revenue/targets", views.RevenueTargetViewSet, basename="revenue-target")
revenue_urlpatterns = [
    re_path(r"^forecast/?$", views.ForecastView.as_view(), name="forecast"),
    re_path(r"^forecast/snapshots/?$", views.ForecastSnapshotView.as_view(), name="forecast-snapshots"),
    re_path(r"^forecast/movement/?$", views.ForecastMovementView.as_view(), name="forecast-movement"),
    re_path(r"^data-quality/?$", views.DataQualityView.as_view(), name="data-quality"),
]

# --- Opportunities -----------------------------------------------------------------------
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
opportunity_urlpatterns = [
    re_path(
        r"^customers/(?P<cid>-?[0-9]+)/opportunities/?$",
        views.CustomerOpportunityListView.as_view(),
        name="customer-opportunities",
    ),
    re_path(r"^vocabulary/?$", views.VocabularyView.as_view(), name="vocabulary"),
]

# --- Workbook import ---------------------------------------------------------------------
import_urlpatterns = [re_path(r"^imports/?$", views.ImportView.as_view(), name="imports")]


# --- Change history ----------------------------------------------------------------------
# Before the router's opportunity detail route, which would take "history" for an oid suffix.
history_urlpatterns = [
    re_path(
        r"^opportunities/(?P<oid>[^/]+)/history/?$",
        views.OpportunityHistoryView.as_view(),
        name="opportunity-history",
    ),
    re_path(
        r"^opportunities/(?P<oid>[^/]+)/stages/?$",
        views.OpportunityStagesView.as_view(),
        name="opportunity-stages",
    ),
    re_path(r"^changes/?$", views.ChangeFeedView.as_view(), name="change-feed"),
]

# --- The caller ----------------------------------------------------------------------------
access_urlpatterns = [re_path(r"^me/?$", views.MeView.as_view(), name="me")]

urlpatterns = (
    history_urlpatterns
    + router.urls
    + revenue_urlpatterns
    + opportunity_urlpatterns
    + import_urlpatterns
    + access_urlpatterns
)
