"""What the workbook import endpoint declares in the OpenAPI schema."""

from django.db import models
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum

from ..imports.serializers import ImportReportSerializer, ImportUploadSerializer
from .autoschema import _error_response_serializer


class ErrorCode413Enum(models.TextChoices):
    REQUEST_TOO_LARGE = "request_too_large"


ErrorResponse413Serializer = _error_response_serializer(413, ErrorCode413Enum, ClientErrorEnum)

import_view = extend_schema(
    summary="Import the workbook",
    description=(
        "Multipart upload of an .xlsx workbook (sheets named like the tables) or one .csv file "
        "named like its table. Every row goes through the API's rules; the answer is the report: "
        "per table the rows created, updated, unchanged and in error, every changed row, every "
        "error per cell. `dry_run` writes nothing; a real run writes nothing when any row is in "
        "error unless `partial`. A file that cannot be read is a 400 naming it (`attr` `file`); "
        "a file over IMPORT_MAX_FILE_SIZE a 413. Needs `crm.import_data`. See docs/import.md."
    ),
    request=ImportUploadSerializer,
    responses={
        200: ImportReportSerializer,
        413: OpenApiResponse(ErrorResponse413Serializer, description="The file is over the size limit."),
    },
)
