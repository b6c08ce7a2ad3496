"""Query parameters: every endpoint names those it reads, and each takes one value unless it says so.

One rule for every endpoint (lists through their FilterSet, every other view through
``crm.views.common.QueryParamsChecked``): a parameter the endpoint does not read is a 400
(``unknown_parameter``), and a parameter given twice is a 400 (``repeated_parameter``) unless
it is one of the filters documented as taking several values (``?area=France&area=UK`` means
either). A repeat is never resolved by keeping one of the values: ``?limit=2000&limit=5``
would otherwise hide the invalid first one.
"""

from collections.abc import Collection, Mapping

from django.core.exceptions import ValidationError

# DRF's renderer switch (``?format=json`` / ``?format=api``), read by every endpoint.
FORMAT_PARAM = "format"


def _values(query_params: Mapping, name: str) -> list:
    getlist = getattr(query_params, "getlist", None)
    return getlist(name) if getlist else [query_params[name]]


def query_param_errors(
    query_params: Mapping, *, known: Collection[str], multi: Collection[str] = ()
) -> dict[str, list[ValidationError]]:
    """The errors, by parameter name, of ``query_params`` for an endpoint reading ``known``."""
    errors = {}
    for name in sorted(query_params):
        if name not in known:
            errors[name] = [ValidationError(f"Unknown query parameter '{name}'.", code="unknown_parameter")]
        elif name not in multi and len(_values(query_params, name)) > 1:
            errors[name] = [
                ValidationError(
                    f"The query parameter '{name}' is given more than once; it takes one value.",
                    code="repeated_parameter",
                )
            ]
    return errors
