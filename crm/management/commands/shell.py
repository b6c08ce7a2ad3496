"""``manage.py shell`` with the project's query and write functions already imported.

Django 5.2 imports every model; this adds the public functions of crm.selectors and
crm.services (looked up at start-up, so a function added there needs no change here),
the CRM vocabulary and the ORM helpers the ad hoc queries in docs/shell.md use.
"""

import inspect
from importlib import import_module

from django.core.management.commands import shell

# Modules whose own public functions are imported by name.
FUNCTION_MODULES = ("crm.selectors", "crm.services")

EXTRA_IMPORTS = (
    "datetime",
    "decimal.Decimal",
    "django.db.models.Count",
    "django.db.models.F",
    "django.db.models.Q",
    "django.db.models.Sum",
    "django.utils.timezone",
    "django.core.exceptions.ValidationError",
    "crm.choices.Area",
    "crm.choices.Status",
    "crm.choices.Product",
    "crm.choices.ForecastCategory",
    "crm.choices.CLOSED_STATUSES",
    "crm.choices.OPEN_STATUSES",
    "crm.choices.fiscal_year_of",
    "crm.choices.fiscal_year_bounds",
    "crm.scopes.AreaScope",
)


def public_function_names(module) -> list[str]:
    """A package's declared API (``__all__``), else the public functions a module defines itself."""
    functions = inspect.getmembers(module, inspect.isfunction)
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return [name for name, _ in functions if name in declared]
    return [name for name, obj in functions if not name.startswith("_") and obj.__module__ == module.__name__]


def project_functions(module_names=FUNCTION_MODULES) -> list[str]:
    """Dotted paths of the public functions of each module (not the ones it merely imports)."""
    paths = []
    for module_name in module_names:
        try:
            module = import_module(module_name)
        except ModuleNotFoundError:
            continue
        paths.extend(f"{module_name}.{name}" for name in public_function_names(module))
    return paths


class Command(shell.Command):
    def handle(self, **options):
        # Writes made in the shell are recorded as such (crm/services/history.py).
        from crm.models import Change
        from crm.services import write_context

        with write_context(source=Change.Source.SHELL):
            return super().handle(**options)

    def get_auto_imports(self):
        return [*super().get_auto_imports(), *EXTRA_IMPORTS, *project_functions()]
