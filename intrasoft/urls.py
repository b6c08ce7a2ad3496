from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from crm import health
from crm.frontend import frontend_missing

admin.site.site_header = settings.APP_NAME
admin.site.site_title = settings.APP_NAME
admin.site.index_title = "Data administration"

urlpatterns = [
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # The sign-in page shows the application's name; the rest of django.contrib.auth.urls as is.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"app_name": settings.APP_NAME}),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^api/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("crm.urls", namespace="api")),
    # Reached only when the front end is not built: WhiteNoise serves frontend/dist/index.html first.
    path("", frontend_missing, name="frontend"),
]

handler404 = "crm.errors.page_not_found"
handler500 = "crm.errors.server_error"
