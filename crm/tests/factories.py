"""Typed factories for the four CRM tables and for users with CRM permissions.

Dates are computed when a row is built (LazyFunction), never at import: a suite that
runs across midnight or a fiscal-year boundary must not change its data.
"""

import datetime
import uuid
from decimal import Decimal

import factory
import faker
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from factory.django import DjangoModelFactory

from crm.choices import DEFAULT_FORECAST_CATEGORY, DEFAULT_PROBABILITY, Area, Product, Status
from crm.models import Customer, Opportunity, RevenueActual, RevenueTarget
from crm.scopes import AreaScope
from crm.services import area_grants_set

User = get_user_model()
_fake = faker.Faker()


class CustomerFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer
        django_get_or_create = ("cid",)

    cid = factory.Sequence(lambda n: 100_000 + n)
    # Faker repeats company names now and then; two equal names are a data-quality finding
    # (customer.name_duplicate) that a test must ask for, never get by chance.
    customer_name = factory.LazyAttributeSequence(lambda o, n: f"{_fake.company()} {n}")
    area = factory.Iterator(Area.values)
    account_executive = factory.Faker("name")
    technical_specialist = factory.Faker("name")
    industry = factory.Iterator(["Manufacturing", "Retail", "Professional Services", "Healthcare"])
    contract_type = factory.Iterator(["Annual", "Multi-year", "Monthly"])
    contract_start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=400))
    contract_end_date = factory.LazyAttribute(
        lambda o: o.contract_start_date + datetime.timedelta(days=3 * 365) if o.contract_start_date else None
    )
    is_active = True
    is_key_account = False


class OpportunityFactory(DjangoModelFactory[Opportunity]):
    class Meta:
        model = Opportunity

    oid = factory.LazyFunction(lambda: uuid.uuid4().hex)
    customer = factory.SubFactory(CustomerFactory)
    opportunity_name = factory.Faker("catch_phrase")
    product = factory.Iterator(Product.values)
    status = Status.PROSPECTING
    est_monthly_revenue = factory.LazyFunction(lambda: Decimal("2500.00"))
    probability = factory.LazyAttribute(lambda o: DEFAULT_PROBABILITY[o.status])
    forecast_category = factory.LazyAttribute(lambda o: DEFAULT_FORECAST_CATEGORY[o.status])
    expected_close_date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=60))


class RevenueActualFactory(DjangoModelFactory[RevenueActual]):
    class Meta:
        model = RevenueActual

    area = Area.FRANCE
    month = factory.LazyFunction(lambda: datetime.date.today().replace(day=1))
    revenue = Decimal("100000.00")


class RevenueTargetFactory(DjangoModelFactory[RevenueTarget]):
    class Meta:
        model = RevenueTarget

    area = Area.FRANCE
    fiscal_year = 2025
    target = Decimal("1200000.00")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@intrasoft.example")
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        """``UserFactory(permissions=["crm.view_customer"])`` grants model permissions."""
        if not create or not extracted:
            return
        for perm in extracted:
            app_label, codename = perm.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )

    @factory.post_generation
    def areas(self, create, extracted, **kwargs):
        """The user's own area grants: every area unless told (``areas=["France"]``, ``areas=[]``).

        Explicit, as every place that makes users for the project's own runs: a user without
        a grant sees nothing (crm/scopes.py).
        """
        if not create:
            return
        area_grants_set(user=self, scope=AreaScope.ALL if extracted is None else AreaScope.of(extracted))
