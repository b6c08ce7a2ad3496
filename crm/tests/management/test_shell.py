"""``manage.py shell`` imports the project's functions, and every query in docs/shell.md runs and is right."""

import contextlib
import datetime
import importlib
import inspect
import io
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command

from crm.choices import CLOSED_STATUSES
from crm.management.commands.shell import FUNCTION_MODULES, Command
from crm.models import Customer, Opportunity
from crm.scopes import AreaScope
from crm.selectors import forecast_by_area

pytestmark = pytest.mark.django_db

SHELL_DOC = settings.BASE_DIR / "docs" / "shell.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _public_functions(module_name: str) -> set[str]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return set()
    names = getattr(module, "__all__", None) or [
        name
        for name, obj in inspect.getmembers(module, inspect.isfunction)
        if obj.__module__ == module_name and not name.startswith("_")
    ]
    return {name for name in names if inspect.isfunction(getattr(module, name))}


def test_shell_namespace_has_models_selectors_and_services():
    """The shell namespace holds the models, every public selector/service function and the vocabulary."""
    namespace = Command().get_namespace(verbosity=0)
    expected_functions = set().union(*(_public_functions(m) for m in FUNCTION_MODULES))
    assert {"crm_groups_ensure", "api_user_ensure"} <= expected_functions
    assert expected_functions <= set(namespace)
    for name in ("Customer", "Opportunity", "RevenueActual", "RevenueTarget", "Area", "Status", "Sum", "Q"):
        assert name in namespace
    assert namespace["Opportunity"] is Opportunity


def test_shell_command_runs_with_the_imports(capsys):
    """``manage.py shell -c`` sees the models and the service functions without importing them."""
    call_command(
        "shell", command="print(Customer.objects.count(), crm_groups_ensure.__module__)", verbosity=0
    )
    assert capsys.readouterr().out == "0 crm.services.access\n"


def _run_shell_doc() -> tuple[dict, str]:
    namespace = Command().get_namespace(verbosity=0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in PYTHON_BLOCK.findall(SHELL_DOC.read_text(encoding="utf-8")):
            exec(block, namespace)  # noqa: S102 - the documentation's own examples, nothing else
    return namespace, out.getvalue()


def test_every_query_in_shell_md_runs_and_answers_correctly():
    """On the demo data, each documented query returns what a plain Python count over all rows says."""
    # given
    call_command("load_demo_data", stdout=io.StringIO())
    opportunities = list(Opportunity.objects.select_related("customer"))
    open_opps = [o for o in opportunities if o.status not in CLOSED_STATUSES]

    # when
    ns, output = _run_shell_doc()

    # then: pipeline by area
    by_area = defaultdict(lambda: [0, Decimal(0)])
    for o in open_opps:
        by_area[o.customer.area][0] += 1
        by_area[o.customer.area][1] += o.est_monthly_revenue
    assert {r["customer__area"]: [r["deals"], r["monthly_revenue"]] for r in ns["pipeline"]} == {
        area: [n, total] for area, (n, total) in by_area.items()
    }
    assert len(by_area) == 5
    # customers without a technical specialist
    expected_no_ts = {c.cid for c in Customer.objects.all() if c.is_active and not c.technical_specialist}
    assert expected_no_ts
    assert {c.cid for c in ns["no_specialist"]} == expected_no_ts
    # closing this quarter (Oct-Dec 2024 for the demo data's "today")
    assert (ns["quarter_start"].isoformat(), ns["quarter_end"].isoformat()) == ("2024-10-01", "2024-12-31")
    expected_closing = {
        o.oid for o in open_opps if ns["quarter_start"] <= o.expected_close_date <= ns["quarter_end"]
    }
    assert expected_closing
    assert {o.oid for o in ns["closing"]} == expected_closing
    assert f"{len(expected_closing)} open deals close between 2024-10-01 and 2024-12-31" in output
    # overdue
    assert {o.oid for o in ns["overdue"]} == {o.oid for o in open_opps if o.expected_close_date < ns["as_of"]}
    # actuals against target
    assert ns["fy"] == 2025
    assert sum(ns["actuals"].values()) > 0
    assert set(ns["targets"]) == {"France", "Germany", "Switzerland", "Netherlands", "UK"}
    assert "FY2025 France" in output
    # the API's filters through the selectors
    assert {o.oid for o in ns["french_proposals"]} == {
        o.oid for o in opportunities if o.customer.area == "France" and o.status == "Proposal"
    }
    assert ns["french_proposals"].count() > 0
    expected_uk = {c.customer_name for c in Customer.objects.filter(area="UK", is_key_account=True)}
    assert expected_uk
    assert {c.customer_name for c in ns["uk_key_accounts"]} == expected_uk
    # the rule check prints the service's message
    assert "{'probability': ['A Closed Won opportunity must have probability 100.']}" in output
    # the selectors give the same answers as the API's own call of them
    assert ns["forecast"] == forecast_by_area(
        fiscal_year=2025, as_of=datetime.date(2024, 12, 15), scope=AreaScope.ALL
    )
    assert [r.area for r in ns["forecast"].areas] == ["France", "Germany", "Switzerland", "Netherlands", "UK"]
    assert ns["report"].errors > 0
    assert f"{ns['report'].errors} error rules and {ns['report'].warnings} warning rules broken" in output
    assert "crm_opportunities" in output


def test_shell_md_examples_do_not_write():
    """Running every example leaves the four tables exactly as they were."""
    call_command("load_demo_data", stdout=io.StringIO())

    def snapshot():
        return (
            list(Customer.objects.values_list()),
            list(Opportunity.objects.values_list()),
        )

    before = snapshot()
    _run_shell_doc()
    assert snapshot() == before
