from rest_framework.routers import SimpleRouter

app_name = "api"

router = SimpleRouter()
# Answer "/api/customers" and "/api/customers/" alike, directly: a redirect would drop a
# POST body and double every client's round trips.
router.trailing_slash = "/?"

urlpatterns = router.urls
