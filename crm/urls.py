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
    re_path(r"^data-quality/?$", views.DataQualityView.as_view(), name="data-quality"),
]

urlpatterns = router.urls + revenue_urlpatterns
