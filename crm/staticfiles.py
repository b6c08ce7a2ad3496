"""Static files outside DEBUG: hashed and compressed by collectstatic, never a 500 without it.

WhiteNoise's manifest storage turns ``{% static "admin/css/base.css" %}`` into the hashed name
that ``collectstatic`` recorded in ``STATIC_ROOT/staticfiles.json``. When a deployment skipped
``collectstatic`` the name is missing and Django raises, so every admin page answered 500. Here
a missing entry is the unhashed URL instead, which WhiteNoise serves from the apps themselves
(``WHITENOISE_USE_FINDERS``), and the process says once, at start-up, what is missing and the
command that fixes it.
"""

import logging

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger("crm.staticfiles")


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed names from the manifest; the plain name for a file it does not list."""

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            # Not collected: the page still renders, with the file served unhashed from its app.
            logger.debug("no staticfiles manifest entry for %s; serving it unhashed", name)
            return name


def static_files_missing() -> str | None:
    """What is missing for hashed static files, or None when nothing is (or the storage needs none)."""
    # staticfiles_storage is lazy; isinstance sees the configured storage's class.
    if not isinstance(staticfiles_storage, ManifestFilesMixin) or staticfiles_storage.read_manifest():
        return None
    return (
        f"static files are not collected: {settings.STATIC_ROOT}/{staticfiles_storage.manifest_name} "
        "is missing, so the admin's CSS and JavaScript are served unhashed from the apps; "
        "run `python manage.py collectstatic --noinput`"
    )


def warn_if_static_files_missing() -> None:
    """Log, once at start-up, what a deployment forgot (called by the WSGI entry point)."""
    missing = static_files_missing()
    if missing:
        logger.warning(missing)
