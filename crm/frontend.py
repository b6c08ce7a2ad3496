"""The front end's one server-side page: what "/" says when the React app has not been built.

When frontend/dist exists, WhiteNoise answers "/" with the app's index.html before any URL
pattern is tried, so this view only ever runs without a build.
"""

from http import HTTPStatus

from django.conf import settings
from django.shortcuts import render


def frontend_missing(request):
    return render(
        request,
        "crm/frontend_missing.html",
        {"app_name": settings.APP_NAME},
        status=HTTPStatus.NOT_FOUND,
    )
