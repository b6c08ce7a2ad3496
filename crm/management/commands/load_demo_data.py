"""A deterministic, realistic IntraSoft demo dataset: the state of the CRM in December 2024
(midway through FY2025).

The same rows every time (a seeded generator, fixed ids), inserted only where missing: a
second run changes nothing, and rows someone edited are never overwritten. The data holds a
few deliberate defects of the kind real CRM exports have, so the data-quality report has
something to find; they are listed in DEFECTS below.
"""

import datetime
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from crm.choices import DEFAULT_FORECAST_CATEGORY, DEFAULT_PROBABILITY, Area, Product, Status
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.services import forecast_snapshot_take, opportunity_create, opportunity_update

SEED = 20241215
CUSTOMERS_PER_AREA = 55
OID_NAMESPACE = uuid.UUID("6f1c1c52-52a4-4a8e-9d0c-2d6a3f7e0b11")

# Account executive / technical specialist pairs, per area.
TEAMS = {
    Area.FRANCE: [
        ("Camille Laurent", "Hugo Lefèvre"),
        ("Julien Moreau", "Chloé Girard"),
        ("Élodie Fournier", "Mathieu Bonnet"),
    ],
    Area.GERMANY: [
        ("Katrin Schmidt", "Felix Wagner"),
        ("Jonas Weber", "Sophie Becker"),
        ("Lena Fischer", "Lukas Hoffmann"),
    ],
    Area.SWITZERLAND: [
        ("Nicole Keller", "Reto Baumann"),
        ("Marco Brunner", "Andrea Huber"),
        ("Sandra Meier", "Daniel Frei"),
    ],
    Area.NETHERLANDS: [
        ("Sanne de Vries", "Bram Visser"),
        ("Daan Jansen", "Lotte Smit"),
        ("Femke Bakker", "Ruben de Boer"),
    ],
    Area.UK: [
        ("Oliver Bennett", "Amelia Clarke"),
        ("Charlotte Hughes", "Harry Wright"),
        ("James Walker", "Emily Turner"),
    ],
}

# Name parts that sound like each market's companies: stem, sector word, legal form.
NAME_PARTS = {
    Area.FRANCE: (
        [
            "Lumière",
            "Arcadia",
            "Bastide",
            "Clairval",
            "Dauphiné",
            "Éclat",
            "Garonne",
            "Horizon",
            "Loire",
            "Mistral",
            "Océane",
            "Provence",
            "Saphir",
            "Vendôme",
        ],
        ["Conseil", "Logistique", "Bâtiment", "Distribution", "Santé", "Industries", "Services"],
        ["SAS", "SARL", "SA"],
    ),
    Area.GERMANY: (
        [
            "Alster",
            "Bergmann",
            "Elbe",
            "Falken",
            "Hanse",
            "Isar",
            "Kranich",
            "Linden",
            "Nordstern",
            "Rhein",
            "Spree",
            "Tannen",
            "Weser",
            "Zugspitz",
        ],
        ["Logistik", "Maschinenbau", "Handel", "Bau", "Consulting", "Medizintechnik", "Software"],
        ["GmbH", "AG", "GmbH & Co. KG"],
    ),
    Area.SWITZERLAND: (
        [
            "Aare",
            "Berner",
            "Eiger",
            "Gotthard",
            "Jura",
            "Limmat",
            "Matterhorn",
            "Pilatus",
            "Rigi",
            "Säntis",
            "Ticino",
            "Zürich",
            "Léman",
        ],
        ["Treuhand", "Versicherungen", "Uhren", "Pharma", "Bau", "Informatik", "Immobilien"],
        ["AG", "GmbH", "SA"],
    ),
    Area.NETHERLANDS: (
        [
            "Amstel",
            "Delta",
            "Duin",
            "Gouda",
            "Hollands",
            "Maas",
            "Noordzee",
            "Polder",
            "Rijn",
            "Tulp",
            "Vecht",
            "Waal",
            "Zeeland",
            "IJssel",
        ],
        ["Logistiek", "Bouw", "Techniek", "Handel", "Zorg", "Advies", "Installatie"],
        ["B.V.", "N.V."],
    ),
    Area.UK: (
        [
            "Albion",
            "Avon",
            "Cambridge",
            "Cotswold",
            "Kingsway",
            "Mersey",
            "Pennine",
            "Severn",
            "Thames",
            "Trent",
            "Windsor",
            "York",
            "Tyne",
        ],
        ["Logistics", "Engineering", "Retail", "Healthcare", "Consulting", "Construction", "Foods"],
        ["Ltd", "PLC", "LLP"],
    ),
}
AREA_CID_BASE = {
    Area.FRANCE: 1000,
    Area.GERMANY: 2000,
    Area.SWITZERLAND: 3000,
    Area.NETHERLANDS: 4000,
    Area.UK: 5000,
}
INDUSTRIES = [
    "Manufacturing",
    "Retail",
    "Professional Services",
    "Healthcare",
    "Construction",
    "Logistics",
    "Financial Services",
    "Public Sector",
]
CONTRACT_TYPES = ["Annual", "Multi-year", "Monthly"]
DEAL_KINDS = ["rollout", "expansion", "renewal", "migration"]

# Monthly subscription revenue per area in July 2024 (EUR), before growth and noise.
MONTHLY_BASE = {
    Area.FRANCE: 420_000,
    Area.GERMANY: 610_000,
    Area.SWITZERLAND: 280_000,
    Area.NETHERLANDS: 240_000,
    Area.UK: 520_000,
}
ACTUAL_MONTHS = [datetime.date(2024, m, 1) for m in (7, 8, 9, 10, 11)]

DEFECTS = """\
- customers 1003 and 5006 (no technical specialist), 2004 (no account executive), 3005 (neither)
- customer 4007: contract ends before it starts
- customer 1008: name with a trailing space
- customers 2009 and 2010: the same name up to case
- customer 9001: legacy area "Austria", outside the five areas
- Netherlands: no revenue actuals for September 2024 (a gap between July and November)
- opportunity "Payroll rollout - ..." on inactive customer 5011
- one Closed Won opportunity forecast at 90 %, one Negotiation deal due 2024-11-20 still open,
  two deals expected after the end of FY2025
"""

CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def build_customers(rng: random.Random) -> list[Customer]:
    customers = []
    for area, (stems, sectors, forms) in NAME_PARTS.items():
        combos = [(s, w) for s in stems for w in sectors]
        rng.shuffle(combos)
        for i in range(1, CUSTOMERS_PER_AREA + 1):
            stem, sector = combos[i - 1]
            ae, ts = TEAMS[area][i % len(TEAMS[area])]
            start = datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randrange(0, 5 * 365))
            years = rng.choice([1, 2, 3])
            customers.append(
                Customer(
                    cid=AREA_CID_BASE[area] + i,
                    customer_name=f"{stem} {sector} {rng.choice(forms)}",
                    area=area,
                    account_executive=ae,
                    technical_specialist=ts,
                    industry=rng.choice(INDUSTRIES),
                    contract_type=rng.choice(CONTRACT_TYPES),
                    contract_start_date=start,
                    contract_end_date=start.replace(year=start.year + years)
                    if start.day < 29
                    else start + datetime.timedelta(days=365 * years),
                    is_active=rng.random() > 0.08,
                    is_key_account=rng.random() < 0.15,
                )
            )
    by_cid = {c.cid: c for c in customers}
    by_cid[1003].technical_specialist = None
    by_cid[2004].account_executive = None
    by_cid[3005].account_executive = by_cid[3005].technical_specialist = None
    by_cid[5006].technical_specialist = None
    by_cid[4007].contract_end_date = by_cid[4007].contract_start_date - datetime.timedelta(days=90)
    by_cid[1008].customer_name += " "
    by_cid[2010].customer_name = by_cid[2009].customer_name.upper()
    by_cid[5011].is_active = False
    customers.append(
        Customer(
            cid=9001,
            customer_name="Wiener Buchhaltung GmbH",
            area="Austria",
            account_executive="Katrin Schmidt",
            technical_specialist=None,
            industry="Professional Services",
            contract_type="Annual",
            contract_start_date=datetime.date(2021, 3, 1),
            contract_end_date=datetime.date(2025, 3, 1),
        )
    )
    return customers


def build_opportunities(rng: random.Random, customers: list[Customer]) -> list[Opportunity]:
    plan = (
        [Status.PROSPECTING] * 12
        + [Status.QUALIFICATION] * 12
        + [Status.PROPOSAL] * 10
        + [Status.NEGOTIATION] * 8
        + [Status.CLOSED_WON] * 10
        + [Status.CLOSED_LOST] * 6
    )
    pool = [c for c in customers if c.area in AREA_CID_BASE and c.is_active]
    opportunities = []
    for n, status in enumerate(plan, start=1):
        customer = pool[(n * 37) % len(pool)]
        product = list(Product)[n % len(Product)]
        if status in (Status.CLOSED_WON, Status.CLOSED_LOST):
            close = datetime.date(2024, rng.choice([7, 8, 9, 10, 11]), rng.randint(1, 28))
        else:
            close = datetime.date(2024, 12, 16) + datetime.timedelta(days=rng.randrange(0, 190))
        probability = DEFAULT_PROBABILITY[status]
        if status in (Status.PROPOSAL, Status.NEGOTIATION) and n % 3 == 0:
            probability += rng.choice([-10, 10])
        kind = rng.choice(DEAL_KINDS)
        opportunities.append(
            Opportunity(
                oid=uuid.uuid5(OID_NAMESPACE, f"demo-opportunity-{n}").hex,
                customer=customer,
                opportunity_name=f"{product.label} {kind} - {customer.customer_name.strip()}",
                product=product,
                status=status,
                est_monthly_revenue=_money(rng.randrange(16, 360) * 50),
                probability=None if n in (5, 17, 29) else probability,
                forecast_category=DEFAULT_FORECAST_CATEGORY[status],
                expected_close_date=close,
            )
        )
    # Deliberate defects (see DEFECTS).
    won = next(o for o in opportunities if o.status == Status.CLOSED_WON)
    won.probability = 90
    overdue = next(o for o in opportunities if o.status == Status.NEGOTIATION)
    overdue.expected_close_date = datetime.date(2024, 11, 20)
    late = [o for o in opportunities if o.status == Status.PROSPECTING][:2]
    late[0].expected_close_date = datetime.date(2025, 8, 15)
    late[1].expected_close_date = datetime.date(2025, 9, 30)
    inactive = next(c for c in customers if c.cid == 5011)
    opportunities.append(
        Opportunity(
            oid=uuid.uuid5(OID_NAMESPACE, "demo-opportunity-inactive").hex,
            customer=inactive,
            opportunity_name=f"Payroll rollout - {inactive.customer_name}",
            product=Product.PAYROLL,
            status=Status.QUALIFICATION,
            est_monthly_revenue=Decimal("1800.00"),
            probability=20,
            forecast_category=DEFAULT_FORECAST_CATEGORY[Status.QUALIFICATION],
            expected_close_date=datetime.date(2025, 2, 14),
        )
    )
    return opportunities


def build_revenue(rng: random.Random) -> tuple[list[RevenueActual], list[RevenueTarget]]:
    actuals, targets = [], []
    for area, base in MONTHLY_BASE.items():
        for i, month in enumerate(ACTUAL_MONTHS):
            if area == Area.NETHERLANDS and month.month == 9:
                continue
            revenue = base * (1.01**i) * rng.uniform(0.97, 1.03)
            actuals.append(RevenueActual(area=area, month=month, revenue=_money(round(revenue, 2))))
        fy2025 = round(base * 12 * 1.08, -4)
        targets.append(RevenueTarget(area=area, fiscal_year=2025, target=_money(fy2025)))
        targets.append(RevenueTarget(area=area, fiscal_year=2026, target=_money(round(fy2025 * 1.1, -4))))
    return actuals, targets


# The worked example of docs/forecast.md ("Pipeline movement"): five changes to Swiss deals,
# each (day, opportunity name or None for a new deal, the change).
HISTORY = [
    (datetime.date(2024, 12, 2), "Payroll expansion - Aare Treuhand AG", {"status": Status.CLOSED_WON}),
    (
        datetime.date(2024, 12, 4),
        "Accounting rollout - Rigi Treuhand GmbH",
        {"expected_close_date": datetime.date(2025, 7, 15)},
    ),
    (
        datetime.date(2024, 12, 6),
        "Expenses rollout - Aare Versicherungen GmbH",
        {"est_monthly_revenue": Decimal("1800.00")},
    ),
    (
        datetime.date(2024, 12, 9),
        None,
        {
            "cid": 3001,
            "opportunity_name": "Payroll pilot - Rigi Bau SA",
            "product": Product.PAYROLL,
            "status": Status.PROPOSAL,
            "est_monthly_revenue": Decimal("2000.00"),
            "expected_close_date": datetime.date(2025, 3, 31),
        },
    ),
    (
        datetime.date(2024, 12, 11),
        "Expenses renewal - Limmat Uhren AG",
        {"expected_close_date": datetime.date(2025, 2, 28)},
    ),
]
# A forecast snapshot (FY2025) is stored for every day of this span, after that day's changes.
SNAPSHOT_DAYS = (datetime.date(2024, 12, 1), datetime.date(2024, 12, 13))


def _dated(day: datetime.date, oid: str, after_entry: int) -> int:
    """Date the entries written since ``after_entry`` and the deal's row at noon (UTC) of ``day``."""
    at = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    Change.objects.filter(id__gt=after_entry).update(at=at)
    Opportunity.objects.filter(oid=oid).update(updated_at=at)
    return Change.objects.order_by("-id").values_list("id", flat=True).first() or after_entry


def replay_history() -> tuple[int, int]:
    """The worked example's changes through the services, each dated on its day, with a forecast
    snapshot per day: (changes made, snapshots stored). Nothing when the history has entries."""
    if Change.objects.exists():
        return 0, 0
    changes = snapshots = 0
    last_entry = 0
    day, last_day = SNAPSHOT_DAYS
    while day <= last_day:
        for when, name, values in HISTORY:
            if when != day:
                continue
            with transaction.atomic():
                if name is None:
                    oid = opportunity_create(**values).oid
                else:
                    deal = Opportunity.objects.get(opportunity_name=name)
                    oid = opportunity_update(opportunity=deal, **values).oid
                last_entry = _dated(day, oid, last_entry)
            changes += 1
        snapshots += forecast_snapshot_take(fiscal_year=2025, as_of=day).created
        day += datetime.timedelta(days=1)
    return changes, snapshots


class Command(BaseCommand):
    help = "Load the IntraSoft demo dataset (December 2024). Inserts missing rows only; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--history",
            action="store_true",
            help=(
                "Also make the five changes of the movement's worked example (docs/forecast.md), dated "
                "2024-12-02 to 12-11, and store a FY2025 forecast snapshot per day from 12-01 to 12-13. "
                "Only into an empty change history."
            ),
        )

    def handle(self, *args, history=False, **options):
        rng = random.Random(SEED)
        customers = build_customers(rng)
        opportunities = build_opportunities(rng, customers)
        actuals, targets = build_revenue(rng)
        counts = {}
        with transaction.atomic():
            for label, model, rows, key in (
                ("customers", Customer, customers, "cid"),
                ("opportunities", Opportunity, opportunities, "oid"),
            ):
                present = set(
                    model.objects.filter(pk__in=[getattr(r, key) for r in rows]).values_list("pk", flat=True)
                )
                missing = [r for r in rows if getattr(r, key) not in present]
                model.objects.bulk_create(missing)
                counts[label] = len(missing)
            present = set(RevenueActual.objects.values_list("area", "month"))
            missing = [a for a in actuals if (a.area, a.month) not in present]
            RevenueActual.objects.bulk_create(missing)
            counts["revenue actuals"] = len(missing)
            present = set(RevenueTarget.objects.values_list("area", "fiscal_year"))
            missing = [t for t in targets if (t.area, t.fiscal_year) not in present]
            RevenueTarget.objects.bulk_create(missing)
            counts["revenue targets"] = len(missing)
        added = ", ".join(f"{n} {label}" for label, n in counts.items())
        self.stdout.write(
            f"Demo data: added {added}."
            if any(counts.values())
            else "Demo data already loaded; nothing changed."
        )
        if history:
            changes, snapshots = replay_history()
            self.stdout.write(
                f"Demo history: {changes} changes (2024-12-02 to 12-11), {snapshots} forecast snapshots."
                if changes or snapshots
                else "Demo history: the change history is not empty; nothing added."
            )
