"""Change history entries, the stages derived from them, the pages they come in, and their parameters."""

import base64
import binascii

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from ..services.history import recorded_fields

# The order people read an entry's fields in: the model's column order.
_MODEL_OF_ENTITY = {
    Change.Entity.OPPORTUNITY: Opportunity,
    Change.Entity.CUSTOMER: Customer,
    Change.Entity.REVENUE_ACTUAL: RevenueActual,
    Change.Entity.REVENUE_TARGET: RevenueTarget,
}
_FIELD_ORDER = {
    entity: [f.column for f in recorded_fields(model)] for entity, model in _MODEL_OF_ENTITY.items()
}


@extend_schema_field(
    {
        "type": "object",
        "description": "`{field: [old, new]}` for each changed field; old is null on create, new on delete.",
        "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2, "items": {}},
        "example": {"status": ["Proposal", "Negotiation"], "probability": [50, 75]},
    }
)
class ChangesField(serializers.Field):
    def to_representation(self, value):
        return value


class ChangeSerializer(serializers.ModelSerializer):
    position = serializers.IntegerField(
        allow_null=True,
        help_text="Place in the change feed (GET /api/changes); null for a moment after the commit.",
    )
    key = serializers.CharField(help_text="The row's primary key as text: an oid, a cid or a revenue row id.")
    changes = ChangesField()

    class Meta:
        model = Change
        # Every column but the internal id, in the model's order.
        fields = tuple(field.name for field in Change._meta.concrete_fields if not field.primary_key)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        order = _FIELD_ORDER.get(instance.entity, [])
        # MySQL's JSON column keeps object keys in its own order; answer in the columns' order.
        data["changes"] = dict(sorted(data["changes"].items(), key=lambda item: _rank(order, item[0])))
        return data


def _rank(order: list[str], field: str) -> int:
    return order.index(field) if field in order else len(order)


class ChangePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null after the last one.")
    results = ChangeSerializer(many=True)


class ChangeFeedSerializer(serializers.Serializer):
    next = serializers.URLField(
        help_text="Where to continue: the same filters after the last position on this page (or the same "
        "position when the page is empty). Keep it and poll it."
    )
    results = ChangeSerializer(many=True)


class StageSerializer(serializers.Serializer):
    status = serializers.CharField()
    entered_at = serializers.DateTimeField(
        allow_null=True, help_text="Null when the deal was already in this status when its history begins."
    )
    exited_at = serializers.DateTimeField(allow_null=True, help_text="Null for the current status.")
    days = serializers.FloatField(
        allow_null=True, help_text="Days in the status, to the hundredth; up to now for the current one."
    )


# --- Query parameters --------------------------------------------------------------------------
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
# Positions and entry ids are BIGINT.
MAX_POSITION = 2**63 - 1


def _page_size():
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        default=DEFAULT_PAGE_SIZE,
        help_text=f"Entries per page, 1 to {MAX_PAGE_SIZE}; default {DEFAULT_PAGE_SIZE}.",
    )


def history_cursor(entry_id: int) -> str:
    """The opaque cursor of the page after the entry ``entry_id``."""
    return base64.urlsafe_b64encode(f"after:{entry_id}".encode()).decode().rstrip("=")


class CursorField(serializers.CharField):
    default_error_messages = {"invalid": "Not a cursor this endpoint gave out."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            decoded = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeError, ValueError):
            self.fail("invalid")
        prefix, _, number = decoded.partition(":")
        if prefix != "after" or not (number.isascii() and number.isdigit()) or int(number) > MAX_POSITION:
            self.fail("invalid")
        return int(number)


class HistoryQuerySerializer(serializers.Serializer):
    page_size = _page_size()
    cursor = CursorField(required=False, help_text="From the `next` link of the previous page; opaque.")


class ChangeFeedQuerySerializer(serializers.Serializer):
    page_size = _page_size()
    position = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_POSITION,
        default=0,
        help_text="Answer the changes after this position (from the `next` link); 0, the default, "
        "starts at the oldest kept.",
    )
