"""Request body parsing that turns every malformed body into a 400, never a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: nesting deeper than Python's recursion limit is a parse error.

    The standard library raises RecursionError (not ValueError) on such input, which DRF
    does not catch; no legitimate body of this API nests more than two levels.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
