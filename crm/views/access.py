"""GET /api/me: the caller's username, roles, permissions and areas.

What the schema says about it is in ``crm.openapi.access``.
"""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..openapi import access as schemas
from ..selectors import access_get
from .common import QueryParamsChecked


class MeView(QueryParamsChecked, APIView):
    # Any signed-in user, with or without a role: it is how a client learns what it may do.
    permission_classes = [IsAuthenticated]

    @schemas.me_get
    def get(self, request):
        return Response(access_get(user=request.user))
