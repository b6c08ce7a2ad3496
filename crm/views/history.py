"""Change history: one opportunity's entries and stages, and the change feed across the CRM.

What the schema says about them is in ``crm.openapi.history``.
"""

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..filters import ChangeFilter, OpportunityHistoryParams, OpportunityStagesParams
from ..models import Change, Opportunity
from ..openapi import history as schemas
from ..permissions import ModelPermissions
from ..scopes import scope_for
from ..selectors import change_feed_page, opportunity_history, opportunity_stages
from ..serializers import (
    ChangeFeedQuerySerializer,
    ChangeSerializer,
    HistoryQuerySerializer,
    StageSerializer,
    history_cursor,
)
from .common import MethodCheckedFirst

NOT_RECORDED = "No change was ever recorded for this oid."


def _params(request, query_serializer, filterset_class) -> dict:
    """The paging parameters, checked together with the filters: one 400 names every bad one."""
    errors = {}
    # A plain dict: DRF reads a blank value in a QueryDict as "not given", and ``page_size=`` is
    # a mistake to report.
    params = query_serializer(data=request.query_params.dict())
    if not params.is_valid():
        errors.update(
            {
                name: [ValidationError(str(detail), code=detail.code) for detail in details]
                for name, details in params.errors.items()
            }
        )
    filterset = filterset_class(request.query_params, queryset=filterset_class._meta.model.objects.none())
    if not filterset.is_valid():
        errors.update(filterset.errors.as_data())
    if errors:
        # Django's ValidationError: crm.errors answers 400 naming each parameter.
        raise ValidationError(errors)
    return params.validated_data


class _HistoryView(MethodCheckedFirst, GenericAPIView):
    """Needs crm.view_opportunity: an opportunity's history is part of the opportunity."""

    queryset = Opportunity.objects.none()
    permission_classes = [ModelPermissions]


@schemas.opportunity_history
class OpportunityHistoryView(_HistoryView):
    serializer_class = ChangeSerializer
    filterset_class = OpportunityHistoryParams

    def get(self, request, oid: str):
        params = _params(request, HistoryQuerySerializer, self.filterset_class)
        size = params["page_size"]
        entries = opportunity_history(oid=oid, scope=scope_for(request.user))
        after = params.get("cursor")
        page = list((entries if after is None else entries.filter(id__gt=after))[: size + 1])
        if not page and (after is None or not entries.exists()):
            raise NotFound(NOT_RECORDED)
        more = len(page) > size
        page = page[:size]
        next_url = (
            replace_query_param(request.build_absolute_uri(), "cursor", history_cursor(page[-1].id))
            if more
            else None
        )
        return Response({"next": next_url, "results": ChangeSerializer(page, many=True).data})


@schemas.opportunity_stages
class OpportunityStagesView(_HistoryView):
    serializer_class = StageSerializer
    filterset_class = OpportunityStagesParams

    def get(self, request, oid: str):
        _params(request, serializers.Serializer, self.filterset_class)
        stages = opportunity_stages(oid=oid, scope=scope_for(request.user))
        if stages is None:
            raise NotFound(NOT_RECORDED)
        return Response(StageSerializer(stages, many=True).data)


@schemas.change_feed
class ChangeFeedView(MethodCheckedFirst, GenericAPIView):
    """Needs crm.view_change."""

    queryset = Change.objects.none()
    permission_classes = [ModelPermissions]
    serializer_class = ChangeSerializer
    # Documentation only: changes_since runs the FilterSet.
    filter_backends = (DjangoFilterBackend,)
    filterset_class = ChangeFilter

    def get(self, request):
        params = _params(request, ChangeFeedQuerySerializer, self.filterset_class)
        entries, next_position = change_feed_page(
            position=params["position"],
            limit=params["page_size"],
            filters=request.query_params,
            scope=scope_for(request.user),
        )
        next_url = replace_query_param(request.build_absolute_uri(), "position", next_position)
        return Response({"next": next_url, "results": ChangeSerializer(entries, many=True).data})
