"""One meaning of "open": the queryset, the admin, the forecast and the data-quality report agree.

A status is compared byte for byte (docs/forecast.md), so a legacy spelling of a closed
status ("closed won", "Closed Won " with a trailing space, "Won") is open everywhere and
listed by the data-quality report. MySQL's collation would call the first two closed; the
test runs on both backends and is the one that matters on MySQL.
"""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.choices import Area, Status
from crm.models import Opportunity

from .factories import CustomerFactory, OpportunityFactory, RevenueActualFactory, UserFactory

pytestmark = pytest.mark.django_db

LEGACY_STATUSES = ("closed won", "Closed Won ", "Won", "CLOSED LOST")
REPORT_PERMS = ["view_customer", "view_opportunity", "view_revenueactual", "view_revenuetarget"]


@pytest.fixture
def deals():
    """One French customer: an open deal, the two closed statuses, four legacy spellings.

    Every deal closes in FY2025 after the last actual month, so the forecast counts each
    open one in open_pipeline_count.
    """
    customer = CustomerFactory(cid=7001, area=Area.FRANCE)
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2024, 11, 1), revenue=Decimal("1000.00"))
    close = datetime.date(2025, 2, 10)
    rows = {}
    for n, status in enumerate((Status.PROPOSAL, Status.CLOSED_WON, Status.CLOSED_LOST, *LEGACY_STATUSES)):
        rows[status] = OpportunityFactory(
            oid=f"{n:032d}",
            customer=customer,
            status=status,
            probability=None,
            forecast_category=None,
            est_monthly_revenue=Decimal(100 * 10**n),
            expected_close_date=close,
        )
    return rows


def _open(deals) -> list[Opportunity]:
    return [deals[Status.PROPOSAL], *(deals[s] for s in LEGACY_STATUSES)]


def test_queryset_open_and_closed_compare_statuses_exactly(deals):
    """open() holds the open deal and every legacy spelling; closed() only the two exact closed statuses."""
    assert set(Opportunity.objects.open().values_list("oid", flat=True)) == {o.oid for o in _open(deals)}
    assert set(Opportunity.objects.closed().values_list("status", flat=True)) == {
        Status.CLOSED_WON,
        Status.CLOSED_LOST,
    }


def test_admin_forecast_and_data_quality_agree_on_legacy_statuses(deals, api_client):
    """The admin's open columns, the forecast's open pipeline and the data-quality report agree."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="crm", codename__in=REPORT_PERMS)
    )
    open_deals = _open(deals)
    open_mrr = sum(o.est_monthly_revenue for o in open_deals)

    admin = Client()
    admin.force_login(user)
    changelist = admin.get(reverse("admin:crm_customer_changelist"))
    (row,) = changelist.context["cl"].result_list
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    period = {"fiscal_year": 2025, "as_of": "2024-12-15"}
    forecast = api_client.get(reverse("api:forecast"), period)
    report = api_client.get(reverse("api:data-quality"), period)

    assert (forecast.status_code, report.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    (france,) = [r for r in forecast.json()["areas"] if r["area"] == Area.FRANCE]
    assert (row.open_opportunities, row.open_monthly_revenue) == (len(open_deals), open_mrr)
    assert (france["open_pipeline_count"], france["open_pipeline_mrr"]) == (
        len(open_deals),
        f"{open_mrr:.2f}",
    )
    (unknown,) = [r for r in report.json()["rules"] if r["id"] == "opportunity.status_unknown"]
    assert (unknown["count"], unknown["examples"]) == (
        len(LEGACY_STATUSES),
        [deals[s].oid for s in LEGACY_STATUSES],
    )


@pytest.mark.mysql
def test_mysql_collation_alone_would_call_legacy_spellings_closed(deals):
    """On MySQL a plain IN through the column's collation matches the legacy spellings; open() does not."""
    collation_closed = Opportunity.objects.filter(status__in=[Status.CLOSED_WON, Status.CLOSED_LOST])

    assert set(collation_closed.values_list("status", flat=True)) == {
        Status.CLOSED_WON,
        Status.CLOSED_LOST,
        "closed won",
        "Closed Won ",
        "CLOSED LOST",
    }
    assert Opportunity.objects.open().count() == len(_open(deals))
