"""What GET /api/me declares in the OpenAPI schema."""

from drf_spectacular.utils import OpenApiExample, extend_schema

from ..serializers import MeSerializer

me_get = extend_schema(
    summary="The caller: username, roles, permissions and areas",
    description=(
        "Any signed-in user. `areas` is `all` (every area, rows with a legacy area spelling "
        "included) or the areas granted to the user and their groups; rows of other areas answer "
        "as if they did not exist (404 for one object, absent from lists). An empty list sees nothing."
    ),
    responses={200: MeSerializer},
    examples=[
        OpenApiExample(
            "A France reader",
            value={
                "username": "jdupont",
                "roles": ["reader"],
                "permissions": [
                    "crm.view_change",
                    "crm.view_customer",
                    "crm.view_opportunity",
                    "crm.view_revenueactual",
                    "crm.view_revenuetarget",
                ],
                "areas": ["France"],
            },
            response_only=True,
        ),
        OpenApiExample(
            "An editor of every area",
            value={
                "username": "etl",
                "roles": ["editor"],
                "permissions": ["crm.add_opportunity", "crm.change_opportunity", "..."],
                "areas": "all",
            },
            response_only=True,
        ),
    ],
)
