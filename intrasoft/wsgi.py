import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intrasoft.settings")

application = get_wsgi_application()

# A deployment that skipped collectstatic still serves the admin; the log says what to run.
from crm.staticfiles import warn_if_static_files_missing  # noqa: E402 - needs the app registry

warn_if_static_files_missing()
