"""GET /api/me: who the caller is and what they may do (the schema's shape; the view answers a dict)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import ALL_AREAS
from ..services.access import ROLE_GROUPS


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": [ALL_AREAS]},
            # The vocabulary's own component (VocabularySerializer's areas), not a copy of it.
            {"type": "array", "items": {"$ref": "#/components/schemas/AreaEnum"}},
        ]
    }
)
class AreasField(serializers.Field):
    def to_representation(self, value):
        return value


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ROLE_GROUPS)),
        help_text="The CRM groups the caller is in: reader (CRM readers), editor (CRM editors).",
    )
    permissions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every permission the caller holds, as app_label.codename, sorted.",
    )
    areas = AreasField(
        help_text=f"'{ALL_AREAS}' (every area, legacy spellings included) or the granted areas, sorted; "
        "an empty list sees no rows."
    )
