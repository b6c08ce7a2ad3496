"""Opportunities: list, detail, writes (ETag, If-Match, Idempotency-Key), per customer; the vocabulary.

Each view parses the request, calls a selector or service and renders; what the schema says
about them is in ``crm.openapi.opportunities``.
"""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import parse_etags
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import cursors
from ..errors import Conflict, PreconditionFailed, UnprocessableEntity
from ..filters import CustomerOpportunityFilter, OpportunityFilter
from ..models import Opportunity
from ..openapi import opportunities as schemas
from ..pagination import KeysetPagination
from ..permissions import ModelPermissions, view_permission
from ..rendering import JSONStream, PreEncodedJSONRenderer, stream_rows, stream_walk
from ..scopes import scope_for
from ..selectors import (
    customer_get,
    opportunity_cursor_page_fetch,
    opportunity_get,
    opportunity_list,
    opportunity_page_fetch,
    vocabulary_get,
)
from ..serializers import (
    OPPORTUNITY_COLUMNS,
    OpportunityInputSerializer,
    OpportunitySerializer,
    opportunity_rows_to_dicts,
    opportunity_rows_to_json,
    opportunity_to_dict,
)
from ..services import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    OpportunityChanged,
    idempotency_request_fingerprint,
    opportunity_create,
    opportunity_create_idempotent,
    opportunity_delete,
    opportunity_update,
    opportunity_version,
)
from .common import MethodCheckedFirst, QueryParamsChecked, SelectorListMixin


def _etag(opportunity: Opportunity) -> str:
    return f'"{opportunity_version(opportunity)}"'


def _if_match_versions(request) -> list[str] | None:
    """The versions If-Match accepts; None when there is no precondition (absent, or ``*``).

    Comparison is strong (RFC 9110): a weak tag (W/"...") never matches.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return None
    return [tag[1:-1] for tag in tags if not tag.startswith("W/")]


def _idempotency_key(request) -> str | None:
    key = request.headers.get(schemas.IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise DRFValidationError(
            {
                schemas.IDEMPOTENCY_KEY_HEADER: [
                    f"Must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, not blank."
                ]
            },
            code="invalid",
        )
    return key


# A plain mapping, not a serializer built per request (OpportunitySerializer stays the schema).
_represent = opportunity_to_dict


def _page_rows(page):
    return opportunity_page_fetch(page, columns=OPPORTUNITY_COLUMNS)


def _cursor_page_rows(scope):
    def fetch(page, *, shape, position):
        # The caller's areas are part of the query, so of its shape.
        return opportunity_cursor_page_fetch(
            page, shape=(*shape, scope.cache_key()), position=position, columns=OPPORTUNITY_COLUMNS
        )

    return fetch


_page_position = cursors.tuple_position(OPPORTUNITY_COLUMNS)


class StreamedListMixin:
    """The unpaged JSON list streamed from one query, like the customer list but never whole in memory;
    pages as tuples turned into the representation by the list's row function (no serializer)."""

    renderer_classes = [PreEncodedJSONRenderer, BrowsableAPIRenderer]

    def render_list(self, request, rows, *, paged: bool):
        json = request.accepted_renderer.format == "json"
        if paged:
            page = self.paginator.paginate_queryset(
                rows,
                request,
                view=self,
                fetch=_page_rows,
                position=_page_position,
                fetch_cursor_page=_cursor_page_rows(scope_for(request.user)),
            )
            if json:
                return Response(self.paginator.get_paginated_response_bytes(opportunity_rows_to_json(page)))
            return self.paginator.get_paginated_response(opportunity_rows_to_dicts(page))
        if not json:
            return super().render_list(request, rows, paged=paged)
        return JSONStream(opportunity_chunks(rows))


def opportunity_chunks(rows) -> Iterator[bytes]:
    """The unpaged list's body, a chunk at a time: walked by its index-backed order (the first
    chunk is read here, so a failing database is an error answer, not a cut body)."""
    try:
        return stream_walk(
            rows, OPPORTUNITY_COLUMNS, opportunity_rows_to_dicts, rows_to_json=opportunity_rows_to_json
        )
    except ValidationError:
        # An order no index has (e.g. by customer name): one query, streamed as it arrives.
        return stream_rows(
            rows, OPPORTUNITY_COLUMNS, opportunity_rows_to_dicts, rows_to_json=opportunity_rows_to_json
        )


@schemas.opportunity_viewset
class OpportunityViewSet(
    MethodCheckedFirst, QueryParamsChecked, StreamedListMixin, SelectorListMixin, viewsets.GenericViewSet
):
    """CRM opportunities: read with crm.view_opportunity; write with add/change/delete_opportunity."""

    # The permission class reads the model from here; data comes from selectors and services.
    queryset = Opportunity.objects.none()
    serializer_class = OpportunitySerializer
    lookup_field = "oid"
    filterset_class = OpportunityFilter
    pagination_class = KeysetPagination
    selector = staticmethod(opportunity_list)

    def _get(self, oid: str) -> Opportunity:
        # Outside the caller's areas: the same 404 as an oid that does not exist.
        opportunity = opportunity_get(oid=oid, scope=scope_for(self.request.user))
        if opportunity is None:
            raise NotFound("No opportunity with this oid.")
        return opportunity

    def retrieve(self, request, oid=None):
        opportunity = self._get(oid)
        return Response(_represent(opportunity), headers={"ETag": _etag(opportunity)})

    def create(self, request):
        key = _idempotency_key(request)
        scope = scope_for(request.user)
        serializer = OpportunityInputSerializer(data=request.data, context={"scope": scope})
        serializer.is_valid(raise_exception=True)
        if key is None:
            opportunity = opportunity_create(**serializer.validated_data, scope=scope)
            return self._created(request, _represent(opportunity), etag=_etag(opportunity))

        fingerprint = idempotency_request_fingerprint(
            method=request.method, path=request.path, body=request.data
        )
        try:
            result = opportunity_create_idempotent(
                user=request.user,
                key=key,
                fingerprint=fingerprint,
                data=serializer.validated_data,
                represent=_represent,
                scope=scope,
            )
        except IdempotencyInProgress:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry later.") from None
        except IdempotencyKeyReused:
            raise UnprocessableEntity(
                "This Idempotency-Key was already used with a different request."
            ) from None
        if result.replayed:
            response = self._created(request, result.body, etag=None, status_code=result.status)
            response["Idempotent-Replayed"] = "true"
            return response
        return self._created(request, result.body, etag=_etag(result.opportunity))

    def _created(
        self, request, data, etag: str | None, status_code: int = status.HTTP_201_CREATED
    ) -> Response:
        location = reverse("api:opportunity-detail", kwargs={"oid": data["oid"]})
        headers = {"Location": request.build_absolute_uri(location)}
        if etag:
            headers["ETag"] = etag
        return Response(data, status=status_code, headers=headers)

    def update(self, request, oid=None, partial=False):
        opportunity = self._get(oid)
        scope = scope_for(request.user)
        serializer = OpportunityInputSerializer(data=request.data, partial=partial, context={"scope": scope})
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if not partial:
            # PUT replaces the record: what it omits takes the default, not the old value.
            changes.setdefault("probability", None)
            changes.setdefault("forecast_category", None)
        try:
            opportunity = opportunity_update(
                opportunity=opportunity, expected_versions=_if_match_versions(request), scope=scope, **changes
            )
        except OpportunityChanged:
            raise PreconditionFailed() from None
        except Opportunity.DoesNotExist:
            raise NotFound("No opportunity with this oid.") from None
        return Response(_represent(opportunity), headers={"ETag": _etag(opportunity)})

    def partial_update(self, request, oid=None):
        return self.update(request, oid=oid, partial=True)

    def destroy(self, request, oid=None):
        try:
            deleted = opportunity_delete(
                opportunity=self._get(oid),
                expected_versions=_if_match_versions(request),
                scope=scope_for(request.user),
            )
        except OpportunityChanged:
            raise PreconditionFailed() from None
        if not deleted:
            raise NotFound("No opportunity with this oid.")
        return Response(status=status.HTTP_204_NO_CONTENT)


@schemas.customer_opportunity_list
class CustomerOpportunityListView(
    MethodCheckedFirst, StreamedListMixin, SelectorListMixin, mixins.ListModelMixin, generics.GenericAPIView
):
    """Needs crm.view_opportunity and crm.view_customer (it reveals whether the customer exists)."""

    queryset = Opportunity.objects.none()
    permission_classes = [ModelPermissions, view_permission("crm.view_customer")]
    serializer_class = OpportunitySerializer
    filterset_class = CustomerOpportunityFilter
    pagination_class = KeysetPagination
    selector = staticmethod(opportunity_list)

    def get(self, request, cid: str):
        self.customer = customer_get(cid=cid, scope=scope_for(request.user))
        if self.customer is None:
            raise NotFound("No customer with this cid.")
        return self.list(request)

    def selector_kwargs(self) -> dict:
        return {"customer": self.customer}


class VocabularyView(QueryParamsChecked, APIView):
    permission_classes = [IsAuthenticated]

    @schemas.vocabulary_get
    def get(self, request):
        return Response(vocabulary_get())
