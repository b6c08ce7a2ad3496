"""POST /api/imports: the workbook import (docs/import.md)."""

from django.db import models
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..imports.reader import FileRejected
from ..imports.runs import FileTooLarge, import_run
from ..imports.serializers import ImportReportSerializer, ImportUploadSerializer
from ..openapi import _error_response_serializer
from ..permissions import view_permission

IMPORT_PERMISSION = "crm.import_data"


class ErrorCode413Enum(models.TextChoices):
    REQUEST_TOO_LARGE = "request_too_large"


ErrorResponse413Serializer = _error_response_serializer(413, ErrorCode413Enum, ClientErrorEnum)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class ImportView(APIView):
    permission_classes = (view_permission(IMPORT_PERMISSION),)
    parser_classes = (MultiPartParser,)

    @extend_schema(
        summary="Import the workbook",
        description=(
            "Multipart upload of an .xlsx workbook (sheets named like the tables) or one .csv file "
            "named like its table. Every row goes through the API's rules; the answer is the report: "
            "per table the rows created, updated, unchanged and in error, every changed row, every "
            "error per cell. `dry_run` writes nothing; a real run writes nothing when any row is in "
            "error unless `partial`. A file that cannot be read is a 400 naming it (`attr` `file`); "
            "a file over IMPORT_MAX_FILE_SIZE a 413. Needs `crm.import_data`. See docs/import.md."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            200: ImportReportSerializer,
            413: OpenApiResponse(ErrorResponse413Serializer, description="The file is over the size limit."),
        },
    )
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
