"""OpenAPI: the schema generator (``autoschema``) and what each view declares (one module per area).

The views apply the declarations of ``customers``, ``opportunities`` and ``revenue`` as class
decorators, so a view module holds only the view; settings name the generator's pieces
through this package.
"""

from .autoschema import (
    AutoSchema,
    ErrorCode409Enum,
    ErrorCode412Enum,
    ErrorCode422Enum,
    ErrorCode503Enum,
    ErrorResponse409Serializer,
    ErrorResponse412Serializer,
    ErrorResponse422Serializer,
    ErrorResponse503Serializer,
    UnknownFieldErrorSerializer,
    UnknownParameterErrorSerializer,
    canonical_paths,
)

__all__ = [
    "AutoSchema",
    "ErrorCode409Enum",
    "ErrorCode412Enum",
    "ErrorCode422Enum",
    "ErrorCode503Enum",
    "ErrorResponse409Serializer",
    "ErrorResponse412Serializer",
    "ErrorResponse422Serializer",
    "ErrorResponse503Serializer",
    "UnknownFieldErrorSerializer",
    "UnknownParameterErrorSerializer",
    "canonical_paths",
]
