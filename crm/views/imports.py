"""POST /api/imports: the workbook import (docs/import.md).

What the schema says about it is in ``crm.openapi.imports``.
"""

from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..imports.reader import FileRejected
from ..imports.runs import FileTooLarge, import_run
from ..imports.serializers import ImportUploadSerializer
from ..openapi import imports as schemas
from ..permissions import view_permission

IMPORT_PERMISSION = "crm.import_data"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class ImportView(APIView):
    permission_classes = (view_permission(IMPORT_PERMISSION),)
    parser_classes = (MultiPartParser,)

    @schemas.import_view
    def post(self, request):
        params = ImportUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        try:
            run = import_run(
                files=[(upload.name, upload.file)],
                dry_run=params.validated_data["dry_run"],
                partial=params.validated_data["partial"],
                user=request.user,
            )
        except FileTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except FileRejected as exc:
            raise DRFValidationError({"file": [ErrorDetail(str(exc), code="invalid")]}) from None
        return Response(run.report)
