"""The demo dataset: realistic, complete, and loaded only once."""

from collections import Counter

import pytest
from django.core.management import call_command

from crm.choices import Area, Product, Status
from crm.models import Customer, Opportunity, RevenueActual, RevenueTarget

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        list(Customer.objects.values_list("cid", "customer_name", "area", "is_active")),
        list(Opportunity.objects.values_list("oid", "status", "est_monthly_revenue", "updated_at")),
        list(RevenueActual.objects.values_list("area", "month", "revenue")),
        list(RevenueTarget.objects.values_list("area", "fiscal_year", "target")),
    )


def test_demo_data_covers_areas_statuses_products_and_periods():
    """250+ customers in five areas, every status and product, FY2025/26 targets, Jul-Nov actuals."""
    call_command("load_demo_data")
    areas = Counter(Customer.objects.values_list("area", flat=True))
    assert sum(areas.values()) >= 250
    assert all(areas[a] >= 50 for a in Area.values)
    assert Customer.objects.filter(technical_specialist__isnull=True).exists()
    assert Customer.objects.filter(account_executive__isnull=True).exists()
    assert set(Opportunity.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(Opportunity.objects.values_list("product", flat=True)) == set(Product.values)
    assert set(RevenueTarget.objects.values_list("area", "fiscal_year")) == {
        (a, fy) for a in Area.values for fy in (2025, 2026)
    }
    months = sorted({m.strftime("%Y-%m") for m in RevenueActual.objects.values_list("month", flat=True)})
    assert months == ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11"]


def test_running_it_twice_changes_nothing(capsys):
    """The second run inserts no row and leaves every existing row as it was."""
    call_command("load_demo_data")
    first = _snapshot()
    capsys.readouterr()
    call_command("load_demo_data")
    assert "nothing changed" in capsys.readouterr().out
    assert _snapshot() == first


def test_rows_edited_since_are_not_overwritten():
    """A customer someone corrected keeps the correction when the demo data is loaded again."""
    call_command("load_demo_data")
    Customer.objects.filter(cid=1003).update(technical_specialist="Chloé Girard")
    call_command("load_demo_data")
    assert Customer.objects.get(cid=1003).technical_specialist == "Chloé Girard"
