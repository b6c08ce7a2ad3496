from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from crm import health
from crm.frontend import frontend_missing

admin.site.site_header = settings.APP_NAME
admin.site.site_title = settings.APP_NAME
admin.site.index_title = "Data administration"

# Django's sign-in pages (django.contrib.auth.urls) with the application's name on the login
# page; the password-reset pages only when the service can send mail (EMAIL_URL), and then
# crm.throttling limits the form's posts. Without mail a reset would try SMTP on localhost.
account_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(extra_context={"app_name": settings.APP_NAME}), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
if settings.PASSWORD_RESET_ENABLED:
    account_urlpatterns += [
        path("password_reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
        path("password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
        path(
            "reset/<uidb64>/<token>/",
            auth_views.PasswordResetConfirmView.as_view(),
            name="password_reset_confirm",
        ),
        path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    ]

urlpatterns = [
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include(account_urlpatterns)),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file of its own (?script), so the page has
    # no inline script and the Content-Security-Policy can forbid them; ReDoc's template is ours,
    # without the web fonts the stock one loads from another origin.
    re_path(r"^api/docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(
        r"^api/redoc/?$",
        SpectacularRedocView.as_view(url_name="schema", template_name="crm/redoc.html"),
        name="redoc",
    ),
    path("api/", include("crm.urls", namespace="api")),
    # Reached only when the front end is not built: WhiteNoise serves frontend/dist/index.html first.
    path("", frontend_missing, name="frontend"),
]

handler404 = "crm.errors.page_not_found"
handler500 = "crm.errors.server_error"
