"""Request body parsing that turns every malformed body into a 400, never a 500."""

import codecs

from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.utils import json


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # The standard library keeps the last of two equal keys: {"cid": 7053, "cid": 1039} would
    # quietly mean 1039 here, while another JSON reader (a proxy, a log, an audit) may take 7053.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus two refusals the standard library does not make.

    - A key given twice in one object is a 400 naming the key (code ``duplicate_key``).
    - Nesting deeper than Python's recursion limit is a parse error: the standard library
      raises RecursionError (not ValueError) on such input, which DRF does not catch; no
      legitimate body of this API nests more than two levels.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if self.strict else None,
                object_pairs_hook=_object_without_duplicate_keys,
            )
        except _DuplicateKey as exc:
            detail = ErrorDetail(f"The key '{exc.key}' is given more than once.", code="duplicate_key")
            raise ValidationError({exc.key: [detail]}) from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
