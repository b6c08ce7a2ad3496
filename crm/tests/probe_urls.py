"""The real URLs plus one probe that reads a request body, for conventions no read endpoint can show.

The customer API accepts no body, so 415 and JSON parse errors are checked against this
probe; it runs through the project's real settings (parsers, exception handler).
"""

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        return Response(request.data)


urlpatterns = [
    path("api/probe", EchoView.as_view()),
    path("", include("intrasoft.urls")),
]
