"""The factories build rows the models accept, and the models read rows they did not write."""

import pytest
from django.db import connection

from crm.models import Customer, Opportunity

from .factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
)

pytestmark = pytest.mark.django_db

LEGACY_OID = "legacy" + "0" * 25 + "1"


@pytest.mark.parametrize(
    "factory", [CustomerFactory, OpportunityFactory, RevenueActualFactory, RevenueTargetFactory]
)
def test_factory_creates_a_valid_row(factory):
    """Every factory's row is saved and passes the model's own validation."""
    obj = factory()
    obj.full_clean()
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_opportunity_timestamps_come_from_the_database():
    """created_at and updated_at are filled in by the column defaults, not by Python."""
    opportunity = OpportunityFactory()
    opportunity.refresh_from_db()
    assert opportunity.created_at is not None
    assert opportunity.updated_at is not None


def test_legacy_values_outside_the_vocabulary_still_load():
    """Rows written by other tools with unknown areas or statuses read back without error."""
    customer = CustomerFactory(area="Austria", account_executive=None, technical_specialist=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_opportunities (oid, cid, opportunity_name, product, status, "
            "est_monthly_revenue, probability, forecast_category, expected_close_date, "
            "created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s)",
            [
                LEGACY_OID,
                customer.cid,
                "Imported deal",
                "Consulting",
                "Won",
                "1200.50",
                "Maybe",
                "2024-10-01",
                "2024-10-01 00:00:00",
                "2024-10-01 00:00:00",
            ],
        )
    loaded = Opportunity.objects.select_related("customer").get(oid=LEGACY_OID)
    assert (loaded.status, loaded.product, loaded.forecast_category) == ("Won", "Consulting", "Maybe")
    assert loaded.customer.area == "Austria"
    assert Customer.objects.get(cid=customer.cid).get_area_display() == "Austria"
