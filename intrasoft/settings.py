"""The one settings module, driven by the environment.

Variables are read from the process environment and from the file named by ENV_FILE
(default: .env at the repository root; a missing file is fine). The process environment
wins over the file. .env.example lists every variable.
"""

import ipaddress
import os
import re
import sys
from pathlib import Path

import environ

from crm.cache import wrap as wrap_cache

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))
if _env_file.is_file():
    env.read_env(_env_file)

APP_NAME = env.str("APP_NAME", default="IntraSoft CRM API")
ENVIRONMENT = env.str("ENVIRONMENT", default="local")
IS_LOCAL = ENVIRONMENT == "local"

if IS_LOCAL:
    # Only ever used on a developer's machine; every other environment must set its own.
    SECRET_KEY = env.str(
        "SECRET_KEY", default="local-only-insecure-key-0f3c9a7e52b14d8c9e6a1b2c3d4e5f60718293a4b5c6"
    )
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        # One line, no traceback: this is an operator's mistake, not a bug.
        sys.exit(f"SECRET_KEY must be set when ENVIRONMENT={ENVIRONMENT} (only 'local' has a default).")

# Former keys, still accepted for sessions and CSRF tokens while a new key rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

DEBUG = env.bool("DEBUG", default=IS_LOCAL)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if IS_LOCAL else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "crm",
]

MIDDLEWARE = [
    "crm.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so the web app's index.html carries the policy too.
    "crm.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # After security and CORS headers are in place, so a refusal carries them too.
    "crm.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the request id and the session user: the history records both.
    "crm.middleware.WriteContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.throttling.FormRateLimitMiddleware",
    # Innermost: it sees the user DRF authenticated and every query the view makes.
    "crm.replicas.ReadRoutingMiddleware",
]

ROOT_URLCONF = "intrasoft.urls"
WSGI_APPLICATION = "intrasoft.wsgi.application"
# Every API path answers with and without a trailing slash itself; never redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database ------------------------------------------------------------------------
# DATABASE_URL wins; otherwise MYSQL_HOST selects MySQL; otherwise an embedded SQLite file.
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
DB_READ_TIMEOUT = env.int("DB_READ_TIMEOUT", default=30)

MYSQL_OPTIONS = {
    "charset": "utf8mb4",
    # Strict mode turns silent truncation into an error; UTC keeps CURRENT_TIMESTAMP
    # defaults consistent with the UTC datetimes Django writes when USE_TZ is on.
    "init_command": "SET sql_mode='STRICT_TRANS_TABLES', time_zone='+00:00'",
    "connect_timeout": DB_CONNECT_TIMEOUT,
    "read_timeout": DB_READ_TIMEOUT,
    "write_timeout": DB_READ_TIMEOUT,
}

# Django's MySQL backend, opening a transaction with one statement (crm/backends/mysql).
MYSQL_ENGINE = "crm.backends.mysql"


def _mysql_engine(database: dict) -> dict:
    # A mysql:// URL names Django's backend; the service runs every MySQL alias on its own.
    if database["ENGINE"] == "django.db.backends.mysql":
        database["ENGINE"] = MYSQL_ENGINE
    return database


if env.str("DATABASE_URL", default=""):
    _default_db = _mysql_engine(env.db("DATABASE_URL"))
elif env.str("MYSQL_HOST", default=""):
    _default_db = {
        "ENGINE": MYSQL_ENGINE,
        "HOST": env.str("MYSQL_HOST"),
        "PORT": env.int("MYSQL_PORT", default=3306),
        "USER": env.str("MYSQL_USER", default=""),
        "PASSWORD": env.str("MYSQL_PASSWORD", default=""),
        "NAME": env.str("MYSQL_DB", default="intrasoft"),
    }
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    _default_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "intrasoft.sqlite3"}

if _default_db["ENGINE"] == MYSQL_ENGINE:
    _default_db["OPTIONS"] = {**MYSQL_OPTIONS, **_default_db.get("OPTIONS", {})}
    _default_db["TEST"] = {
        "CHARSET": "utf8mb4",
        "COLLATION": "utf8mb4_unicode_ci",
        # Lets several checkouts share one server without clobbering each other's test database.
        "NAME": env.str("MYSQL_TEST_DB", default=None),
    }
_default_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
_default_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _default_db}

# --- Read replicas (crm/replicas.py) -----------------------------------------------------
# MYSQL_REPLICA_HOSTS: host[:port],... with the primary's user, password and database; or
# DATABASE_REPLICA_URLS: full URLs, winning when set. Each becomes an alias replica1, replica2...
# Reads of the CRM tables by safe API requests go to a healthy one; everything else to "default".
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=10.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=3.0)
REPLICA_CONNECT_TIMEOUT = env.int("REPLICA_CONNECT_TIMEOUT", default=1)
READ_YOUR_WRITES_SECONDS = env.float("READ_YOUR_WRITES_SECONDS", default=5.0)


def _replica_databases() -> list[dict]:
    if env.str("DATABASE_REPLICA_URLS", default=""):
        return [_mysql_engine(env.db_url_config(url)) for url in env.list("DATABASE_REPLICA_URLS")]
    hosts = env.list("MYSQL_REPLICA_HOSTS", default=[])
    if hosts and _default_db["ENGINE"] != MYSQL_ENGINE:
        sys.exit("MYSQL_REPLICA_HOSTS needs a MySQL primary (MYSQL_HOST or a mysql:// DATABASE_URL).")
    replicas = []
    for entry in hosts:
        host, _, port = entry.partition(":")
        replica = {k: v for k, v in _default_db.items() if k != "TEST"}
        replicas.append({**replica, "HOST": host, "PORT": int(port or _default_db.get("PORT") or 3306)})
    return replicas


REPLICA_DATABASES = []
for _number, _replica in enumerate(_replica_databases(), start=1):
    if _replica["ENGINE"] == MYSQL_ENGINE:
        # A replica that does not answer at once is skipped, not waited for.
        _options = {**MYSQL_OPTIONS, **_replica.get("OPTIONS", {})}
        _replica["OPTIONS"] = {**_options, "connect_timeout": REPLICA_CONNECT_TIMEOUT}
    _replica.setdefault("CONN_MAX_AGE", _default_db["CONN_MAX_AGE"])
    _replica["CONN_HEALTH_CHECKS"] = True
    # The test runner creates no database on a replica: it reads the primary's test database.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    REPLICA_DATABASES.append(f"replica{_number}")
DATABASE_ROUTERS = ["crm.replicas.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Auth ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Credentials are compared exactly, whatever the database collation (crm/authentication.py).
AUTHENTICATION_BACKENDS = ["crm.authentication.ExactUsernameBackend"]
SESSION_ENGINE = "crm.authentication"
# Outgoing mail, e.g. smtp+tls://user:password@email-smtp.eu-west-1.amazonaws.com:587. Without
# it the service sends no mail and the password-reset pages are not routed at all (a reset
# would try an SMTP server on localhost); with it they are, rate-limited (THROTTLE_PASSWORD_RESET).
EMAIL_URL = env.str("EMAIL_URL", default="")
PASSWORD_RESET_ENABLED = bool(EMAIL_URL)
if PASSWORD_RESET_ENABLED:
    globals().update(environ.Env.email_url_config(EMAIL_URL))
    DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
if IS_LOCAL:
    # WhiteNoise warns on every request while STATIC_ROOT is missing; locally static files
    # come from the apps (finders), and deployments fill it with collectstatic.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside DEBUG: the hashed, compressed names collectstatic records (crm.staticfiles). A file it
# did not collect is served unhashed from its app (the finders) rather than failing the page.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "crm.staticfiles.ManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True


# --- Front end -----------------------------------------------------------------------
# The React app (frontend/, built by `make frontend` into frontend/dist) is served at "/"
# by WhiteNoise: index.html for "/", its hashed bundles under /assets/. Without a build,
# "/" explains how to make one (crm.frontend.frontend_missing); the API and admin work alike.
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.is_dir() else None
WHITENOISE_INDEX_FILE = True


def _immutable_file(path: str, url: str) -> bool:
    """Vite's content-hashed bundles and Django's manifest-hashed static files never change."""
    return bool(
        re.match(r"^/assets/.+-[\w-]{8,}\.\w+$", url) or re.match(r"^/static/.+\.[0-9a-f]{12}\.\w+$", url)
    )


WHITENOISE_IMMUTABLE_FILE_TEST = _immutable_file


def _frontend_headers(headers, path: str, url: str) -> None:
    # WhiteNoise answers before XFrameOptionsMiddleware runs: the app's page states it itself.
    if url == "/" or url.endswith(".html"):
        headers["X-Frame-Options"] = "DENY"


WHITENOISE_ADD_HEADERS_FUNCTION = _frontend_headers

# --- Cache ---------------------------------------------------------------------------
# Holds the rate-limit counters and read-your-writes marks (and cached reports). Gunicorn
# runs several worker processes (and production several hosts), so the default is Django's
# database cache: one table, shared by every worker, created by `manage.py createcachetable`
# (`make run` and `make serve` run it). Only a single process may count in its own memory:
# `ENVIRONMENT=local` outside gunicorn (runserver, manage.py, the tests). Gunicorn's master sets
# SERVER_SOFTWARE=gunicorn/<version> in the environment its workers inherit, so a local
# gunicorn shares its counters too. Redis (CACHE_URL=redis://host:6379/0, Django's backend
# with one client per pool, crm.cache.RedisCache) is the choice beyond one server: no
# database write per request. Django culls a third of the entries past MAX_ENTRIES (300 by
# default): counters of callers that are still counted would vanish under many distinct
# clients, so the table may grow.
# crm.cache.FailOpenCache wraps every backend but the database's: a cache that does not answer
# is skipped (throttling fails open), never an error answer.
UNDER_GUNICORN = os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")
_cache_url = env.str("CACHE_URL", default="") or (
    "locmemcache://" if IS_LOCAL and not UNDER_GUNICORN else "dbcache://django_cache?max_entries=10000"
)
_cache = environ.Env.cache_url_config(_cache_url)
if _cache_url.startswith(("redis://", "rediss://")):
    _cache["BACKEND"] = "crm.cache.RedisCache"
    _cache_timeout = env.float("CACHE_SOCKET_TIMEOUT", default=1.0)
    _cache["OPTIONS"] = {
        "socket_connect_timeout": _cache_timeout,
        "socket_timeout": _cache_timeout,
        **_cache.get("OPTIONS", {}),
    }
if _cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # Not wrapped: createcachetable must recognise it, and its errors are the primary's,
    # answered 503 anyway. Its set is one statement (crm.cache.DatabaseCache).
    _cache["BACKEND"] = "crm.cache.DatabaseCache"
else:
    _cache = wrap_cache(_cache, retry_seconds=env.float("CACHE_RETRY_SECONDS", default=2.0))
CACHES = {"default": _cache}
# Seconds a forecast or data-quality answer is reused (crm/report_cache.py): writes through the
# service invalidate it at once; this bounds how long a write made directly in MySQL goes unseen.
REPORT_CACHE_SECONDS = env.int("REPORT_CACHE_SECONDS", default=60)
# Seconds a user's permissions, groups and areas are reused (crm/scopes.py): changes through
# Django (the service, the admin, manage.py) invalidate them at once; this bounds how long a
# change made directly in the database goes unseen. 0 reads them on every request.
ACCESS_CACHE_SECONDS = env.int("ACCESS_CACHE_SECONDS", default=300)

# API request bodies above this size are refused with 413 before they are read
# (crm.middleware.RequestBodyLimitMiddleware; DRF's parsers would read any size). Form posts
# elsewhere (admin, login) hit Django's own check when request.POST is read, which answers 400.
# The largest legitimate body (an opportunity) is well under 1 KiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# The largest workbook (XLSX or CSV file) an import accepts, in bytes (413 above); the
# import endpoint's body limit is this plus room for the multipart envelope.
IMPORT_MAX_FILE_SIZE = env.int("IMPORT_MAX_FILE_SIZE", default=10 * 1024 * 1024)


# --- Client addresses ----------------------------------------------------------------
# Proxies (load balancers) whose X-Forwarded-For is believed, as addresses or networks
# (comma-separated, e.g. the ALB subnets 10.0.0.0/24,10.0.1.0/24). Default none: the client is
# the connection's peer (REMOTE_ADDR) and X-Forwarded-For is ignored, so a client cannot choose
# the address its rate limits are counted under (crm/throttling.py).
try:
    TRUSTED_PROXIES = tuple(
        ipaddress.ip_network(proxy, strict=False) for proxy in env.list("TRUSTED_PROXIES", default=[])
    )
except ValueError as exc:
    sys.exit(f"TRUSTED_PROXIES: {exc}")


# --- API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Authentication on every endpoint, then Django's model permissions (view_* for reads).
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.ModelPermissions"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["crm.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "crm.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.throttling.AnonRateThrottle",
        "crm.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        # Failed logins per client address and account on the admin and /accounts/login/ forms.
        "login": env.str("THROTTLE_LOGIN", default="5/min"),
        # Posts of the password-reset form (only routed when EMAIL_URL is set), per address and email.
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "crm.errors.ExceptionHandler",
    # Clients get the error shape even in DEBUG; the traceback still goes to the log.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "ALLOWED_ERROR_STATUS_CODES": [
        "400",
        "401",
        "403",
        "404",
        "405",
        "406",
        "409",
        "412",
        "415",
        "422",
        "429",
        "500",
        "503",
    ],
    "ERROR_SCHEMAS": {
        "409": "crm.openapi.ErrorResponse409Serializer",
        "412": "crm.openapi.ErrorResponse412Serializer",
        "422": "crm.openapi.ErrorResponse422Serializer",
        "503": "crm.openapi.ErrorResponse503Serializer",
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": APP_NAME,
    "DESCRIPTION": "Customer roster, CRM opportunities, revenue and forecasts for IntraSoft's five areas.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "ErrorCode409Enum": "crm.openapi.ErrorCode409Enum.choices",
        "ErrorCode412Enum": "crm.openapi.ErrorCode412Enum.choices",
        "ErrorCode422Enum": "crm.openapi.ErrorCode422Enum.choices",
        "ErrorCode503Enum": "crm.openapi.ErrorCode503Enum.choices",
        "AreaEnum": "crm.choices.Area",
        "StatusEnum": "crm.choices.Status",
        "ProductEnum": "crm.choices.Product",
        "ForecastCategoryEnum": "crm.choices.ForecastCategory",
    },
    # The docs pages load Swagger UI and ReDoc from the project's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["crm.openapi.canonical_paths"],
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}


# --- Security (production) -----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Every page may run only the project's own scripts (the web app's bundles, the admin's, DRF's
# and the API docs' static files; no inline script, no other origin) and talk only to this
# origin. Styles may be inline: Swagger UI and ReDoc inject theirs at run time. ReDoc's search
# runs in a worker it builds from a blob.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not IS_LOCAL:
    # Behind a TLS-terminating load balancer that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Health checks are polled over plain HTTP by the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]


# --- Logging -------------------------------------------------------------------------
ECHO_SQL = env.bool("ECHO_SQL", default=False)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crm.middleware.RequestIdLogFilter"}},
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {
            "handlers": ["console"],
            "level": "DEBUG" if ECHO_SQL else "INFO",
            "propagate": False,
        },
    },
}
