"""Opportunities: list, detail, writes (ETag, Idempotency-Key), per customer; the vocabulary."""

import json
import logging

from django.db import transaction
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import Conflict, PreconditionFailed, UnprocessableEntity
from ..filters import OpportunityFilter
from ..models import Customer, Opportunity
from ..openapi import ErrorResponse409Serializer, ErrorResponse412Serializer, ErrorResponse422Serializer
from ..pagination import MAX_LIMIT, MAX_OFFSET, OptInLimitOffsetPagination
from ..permissions import ModelPermissions, view_permission
from ..selectors import opportunity_get, opportunity_list, vocabulary_get
from ..serializers import OpportunityInputSerializer, OpportunitySerializer, VocabularySerializer
from ..services import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    OpportunityChanged,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_release,
    idempotency_request_fingerprint,
    opportunity_create,
    opportunity_delete,
    opportunity_update,
    opportunity_version,
)
from .common import PAGING_ERRORS, MethodCheckedFirst

logger = logging.getLogger(__name__)

# --- Opportunities -----------------------------------------------------------------------

OPPORTUNITY_PAGING_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        description=f"Page size, 1 to {MAX_LIMIT}. Giving `limit` or `offset` turns on paging: the body "
        "becomes `{count, next, previous, results}`.",
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        description="Rows to skip, 0 or more. Alone, it pages with `limit` 100.",
    ),
]
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
WRITE_METHODS = ["POST", "PUT", "PATCH"]
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY_HEADER,
    # Not blank: at least one character that is not white space.
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "pattern": "\\S"},
    OpenApiParameter.HEADER,
    description=(
        f"Up to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, unique per client request, kept at least 24 "
        "hours per user. A retry with the same key and body returns the first response (header "
        "`Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 422; "
        "a retry while the first request still runs is a 409. A request that failed (4xx/5xx) is not "
        "remembered: the key may be used again."
    ),
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The `ETag` of the version read, e.g. `"3f2a…"`. If the opportunity changed since, '
    "the answer is 412 and nothing changes. Without the header the update proceeds.",
)
ETAG_HEADER = OpenApiResponse(
    OpportunitySerializer, description="The opportunity; `ETag` header: its version."
)

OPPORTUNITY_EXAMPLE = {
    "oid": "5b0d2c61f1d04c7c9a0f3e8e2b7d4a19",
    "cid": 1001,
    "customer_name": "Société Générale Assurances",
    "area": "France",
    "opportunity_name": "Payroll roll-out Île-de-France",
    "product": "Payroll",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
    "created_at": "2024-12-15T09:30:12.345678Z",
    "updated_at": "2024-12-15T09:30:12.345678Z",
}


def _etag(opportunity: Opportunity) -> str:
    return f'"{opportunity_version(opportunity)}"'


def _if_match_versions(request) -> list[str] | None:
    """The versions If-Match accepts; None when there is no precondition (absent, or ``*``).

    Comparison is strong (RFC 9110): a weak tag (W/"...") never matches.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return None
    return [tag[1:-1] for tag in tags if len(tag) >= 2 and tag[0] == tag[-1] == '"']


def _idempotency_key(request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise DRFValidationError(
            {IDEMPOTENCY_KEY_HEADER: [f"Must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, not blank."]},
            code="invalid",
        )
    return key


def _list_response(view, request, opportunities):
    paginator = view.paginator
    if not paginator.requested(request):
        return Response(OpportunitySerializer(opportunities, many=True).data)
    page = paginator.paginate_queryset(opportunities, request, view=view)
    return paginator.get_paginated_response(OpportunitySerializer(page, many=True).data)


class PaginatedOpportunityListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OpportunitySerializer(many=True)


OPPORTUNITY_LIST_RESPONSE = PolymorphicProxySerializer(
    component_name="OpportunityListResponse",
    serializers=[OpportunitySerializer(many=True), PaginatedOpportunityListSerializer],
    resource_type_field_name=None,
    many=False,
)
WRITE_ERRORS = {
    409: OpenApiResponse(
        ErrorResponse409Serializer, description="A request with this Idempotency-Key is still running."
    ),
    422: OpenApiResponse(
        ErrorResponse422Serializer, description="This Idempotency-Key was used with another body."
    ),
}
OID_PARAMETER = OpenApiParameter(
    "oid", str, OpenApiParameter.PATH, description="Opportunity id (32 hex digits)."
)
NOT_FOUND = OpenApiResponse(ErrorResponse404Serializer, description="No opportunity with this oid.")
STALE = OpenApiResponse(
    ErrorResponse412Serializer, description="If-Match does not match the current version."
)


@extend_schema_view(
    list=extend_schema(
        summary="List opportunities",
        description=(
            "Opportunities matching the filters, each with its customer's name and area, ordered by "
            "`expected_close_date`, `oid` unless `ordering` says otherwise. Without `limit`/`offset` the "
            "body is a plain JSON array. Any other query parameter is a 400 (`unknown_parameter`)."
        ),
        parameters=OPPORTUNITY_PAGING_PARAMETERS,
        responses={200: OPPORTUNITY_LIST_RESPONSE},
    ),
    retrieve=extend_schema(
        summary="One opportunity",
        parameters=[OID_PARAMETER],
        responses={200: ETAG_HEADER, 404: NOT_FOUND},
        examples=[OpenApiExample("An opportunity", value=OPPORTUNITY_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create an opportunity",
        description=(
            "`cid`, `opportunity_name`, `product`, `status`, `est_monthly_revenue`, `expected_close_date` "
            "are required; `probability` and `forecast_category` default from the status (see "
            "/api/vocabulary). Unknown fields are a 400 (`unknown_field`, `attr` = the field); `oid`, "
            "`customer_name`, `area`, `created_at`, `updated_at` are ignored. Answers 201 with `Location` "
            "and `ETag`."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=OpportunityInputSerializer,
        responses={201: ETAG_HEADER, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace an opportunity",
        description=(
            "Same body and rules as create. Omitted `probability`/`forecast_category` take the status "
            "default."
        ),
        parameters=[OID_PARAMETER, IF_MATCH_PARAMETER],
        request=OpportunityInputSerializer,
        responses={200: ETAG_HEADER, 404: NOT_FOUND, 412: STALE},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an opportunity",
        description=(
            "Only the fields sent change; the rules apply to the resulting record. A new `status` without "
            "`probability`/`forecast_category` takes the new status's defaults for them."
        ),
        parameters=[OID_PARAMETER, IF_MATCH_PARAMETER],
        request=OpportunityInputSerializer(partial=True),
        responses={200: ETAG_HEADER, 404: NOT_FOUND, 412: STALE},
    ),
    destroy=extend_schema(
        summary="Delete an opportunity",
        parameters=[OID_PARAMETER],
        responses={204: OpenApiResponse(description="Deleted."), 404: NOT_FOUND},
    ),
)
@extend_validation_errors(PAGING_ERRORS, field_name="limit", actions=["list"])
@extend_validation_errors(PAGING_ERRORS, field_name="offset", actions=["list"])
@extend_validation_errors(["invalid"], field_name=IDEMPOTENCY_KEY_HEADER, methods=["POST"])
# Codes the service's rules raise (crm/services/opportunities.py), which no serializer field declares.
@extend_validation_errors(["min_value", "max_value"], field_name="est_monthly_revenue", methods=WRITE_METHODS)
@extend_validation_errors(["does_not_exist"], field_name="cid", methods=WRITE_METHODS)
@extend_validation_errors(
    ["out_of_range", "inconsistent_with_status"], field_name="probability", methods=WRITE_METHODS
)
@extend_validation_errors(["inconsistent_with_status"], field_name="forecast_category", methods=WRITE_METHODS)
@extend_validation_errors(["blank", "max_length"], field_name="opportunity_name", methods=WRITE_METHODS)
class OpportunityViewSet(MethodCheckedFirst, viewsets.GenericViewSet):
    """CRM opportunities: read with crm.view_opportunity; write with add/change/delete_opportunity."""

    # The permission class reads the model from here; data comes from selectors and services.
    queryset = Opportunity.objects.none()
    serializer_class = OpportunitySerializer
    lookup_field = "oid"
    # Documentation only: list() runs the FilterSet through the selector.
    filter_backends = [DjangoFilterBackend]
    filterset_class = OpportunityFilter
    pagination_class = OptInLimitOffsetPagination

    def _get(self, oid: str) -> Opportunity:
        opportunity = opportunity_get(oid=oid)
        if opportunity is None:
            raise NotFound("No opportunity with this oid.")
        return opportunity

    def _location(self, request, oid: str) -> str:
        return request.build_absolute_uri(reverse("api:opportunity-detail", kwargs={"oid": oid}))

    def list(self, request):
        return _list_response(self, request, opportunity_list(filters=request.query_params))

    def retrieve(self, request, oid=None):
        opportunity = self._get(oid)
        return Response(OpportunitySerializer(opportunity).data, headers={"ETag": _etag(opportunity)})

    def create(self, request):
        key = _idempotency_key(request)
        serializer = OpportunityInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if key is None:
            opportunity = opportunity_create(**serializer.validated_data)
            return self._created(request, OpportunitySerializer(opportunity).data, _etag(opportunity))

        fingerprint = idempotency_request_fingerprint(
            method=request.method, path=request.path, body=request.data
        )
        try:
            claim = idempotency_key_claim(user=request.user, key=key, fingerprint=fingerprint)
        except IdempotencyInProgress:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry later.") from None
        except IdempotencyKeyReused:
            raise UnprocessableEntity(
                "This Idempotency-Key was already used with a different request."
            ) from None
        if claim.is_replay:
            data = json.loads(claim.replay_body)
            response = self._created(request, data, etag=None, status_code=claim.replay_status)
            response["Idempotent-Replayed"] = "true"
            return response

        try:
            with transaction.atomic():
                opportunity = opportunity_create(**serializer.validated_data)
                data = OpportunitySerializer(opportunity).data
                # Stored as the JSON text sent, so the replay renders byte for byte the same.
                idempotency_key_complete(claim=claim, status=status.HTTP_201_CREATED, body=_json(data))
        except IdempotencyInProgress:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry later.") from None
        except BaseException:
            _release_quietly(claim)
            raise
        return self._created(request, data, _etag(opportunity))

    def _created(
        self, request, data, etag: str | None, status_code: int = status.HTTP_201_CREATED
    ) -> Response:
        headers = {"Location": self._location(request, data["oid"])}
        if etag:
            headers["ETag"] = etag
        return Response(data, status=status_code, headers=headers)

    def update(self, request, oid=None, partial=False):
        opportunity = self._get(oid)
        serializer = OpportunityInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if not partial:
            # PUT replaces the record: what it omits takes the default, not the old value.
            changes.setdefault("probability", None)
            changes.setdefault("forecast_category", None)
        try:
            opportunity = opportunity_update(
                opportunity=opportunity, expected_versions=_if_match_versions(request), **changes
            )
        except OpportunityChanged:
            raise PreconditionFailed() from None
        except Opportunity.DoesNotExist:
            raise NotFound("No opportunity with this oid.") from None
        return Response(OpportunitySerializer(opportunity).data, headers={"ETag": _etag(opportunity)})

    def partial_update(self, request, oid=None):
        return self.update(request, oid=oid, partial=True)

    def destroy(self, request, oid=None):
        opportunity_delete(opportunity=self._get(oid))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _json(data) -> str:
    return JSONRenderer().render(data).decode("utf-8")


def _release_quietly(claim) -> None:
    try:
        idempotency_key_release(claim=claim)
    except Exception:
        # The request's own error matters more; a claim left behind goes stale and is taken over.
        logger.exception("could not release an idempotency claim")


@extend_schema(
    summary="A customer's opportunities",
    description="Same filters, ordering and opt-in paging as GET /api/opportunities.",
    filters=True,
    parameters=[
        OpenApiParameter("cid", int, OpenApiParameter.PATH, description="Customer id."),
        *OPPORTUNITY_PAGING_PARAMETERS,
    ],
    responses={
        200: OPPORTUNITY_LIST_RESPONSE,
        404: OpenApiResponse(ErrorResponse404Serializer, description="No customer with this cid."),
    },
)
@extend_validation_errors(PAGING_ERRORS, field_name="limit", methods=["GET"])
@extend_validation_errors(PAGING_ERRORS, field_name="offset", methods=["GET"])
class CustomerOpportunityListView(MethodCheckedFirst, generics.GenericAPIView):
    """Needs crm.view_opportunity and crm.view_customer (it reveals whether the customer exists)."""

    queryset = Opportunity.objects.none()
    permission_classes = [ModelPermissions, view_permission("crm.view_customer")]
    serializer_class = OpportunitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OpportunityFilter
    pagination_class = OptInLimitOffsetPagination

    def get(self, request, cid: str):
        number = int(cid)
        customer = Customer.objects.filter(cid=number).first() if -(2**31) <= number < 2**31 else None
        if customer is None:
            raise NotFound("No customer with this cid.")
        return _list_response(
            self, request, opportunity_list(filters=request.query_params, customer=customer)
        )


@extend_schema(
    summary="The CRM vocabulary",
    description="Allowed areas, statuses, products and forecast categories, and each status's defaults.",
    responses={200: VocabularySerializer},
)
class VocabularyView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(vocabulary_get())
