"""Area scopes in the admin: a France-only staff user sees and changes only France, on every page;
the grants admin (superusers only)."""

import datetime
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm import services
from crm.choices import Area, Product, Status
from crm.imports.models import ImportRun
from crm.models import AreaGrant, Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.scopes import scope_for
from crm.services import customer_update, opportunity_create

from .factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
    UserFactory,
)
from .test_admin import LIST_QUERY_COUNTS, _grow

pytestmark = pytest.mark.django_db

MODELS = {
    "customer": Customer,
    "opportunity": Opportunity,
    "revenueactual": RevenueActual,
    "revenuetarget": RevenueTarget,
    "change": Change,
}
ALL_PERMS = [
    f"crm.{action}_{name}"
    for name in ("customer", "opportunity", "revenueactual", "revenuetarget")
    for action in ("view", "add", "change", "delete")
] + ["crm.view_change"]


def _staff(*, areas=None, superuser=False, perms=ALL_PERMS) -> Client:
    client = Client()
    user = UserFactory(is_staff=True, is_superuser=superuser, permissions=list(perms), areas=areas)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def data():
    """France and UK rows of every table, and a history entry of each area."""
    paris = CustomerFactory(
        cid=9001, customer_name="Atelier Paris", area=Area.FRANCE, account_executive="Ines Morel"
    )
    london = CustomerFactory(
        cid=9005, customer_name="London Works", area=Area.UK, account_executive="Oliver Hart"
    )
    OpportunityFactory(oid="a" * 32, customer=paris, opportunity_name="Paris payroll")
    OpportunityFactory(oid="e" * 32, customer=london, opportunity_name="London payroll")
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2025, 1, 1), revenue=Decimal("10.00"))
    RevenueActualFactory(area=Area.UK, month=datetime.date(2025, 1, 1), revenue=Decimal("20.00"))
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2025, target=Decimal("100.00"))
    RevenueTargetFactory(area=Area.UK, fiscal_year=2025, target=Decimal("200.00"))
    customer_update(customer=paris, industry="Textiles")
    customer_update(customer=london, industry="Shipping")
    return {"paris": paris, "london": london}


def _pks(model_name: str, area: str) -> list:
    if model_name == "opportunity":
        return list(Opportunity.objects.filter(customer__area=area).values_list("pk", flat=True))
    return list(MODELS[model_name].objects.filter(area=area).values_list("pk", flat=True))


def _missing_pk(model_name: str):
    return {"customer": 1, "opportunity": "0" * 32}.get(model_name, 999999)


# --- Lists, pages, filters ------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", MODELS)
def test_a_france_only_list_counts_and_shows_only_france(data, model_name):
    """The changelist's rows and both its counts are France's; a superuser's list has both areas."""
    france = _staff(areas=["France"])
    superuser = _staff(superuser=True)
    url = reverse(f"admin:crm_{model_name}_changelist")

    cl = france.get(url).context["cl"]

    assert sorted(obj.pk for obj in cl.result_list) == sorted(_pks(model_name, "France"))
    assert cl.result_count == len(_pks(model_name, "France"))
    # The Changes and opportunity lists show no full count (a second count of a large table).
    if model_name not in ("change", "opportunity"):
        assert cl.full_result_count == len(_pks(model_name, "France"))
    every = superuser.get(url).context["cl"]
    assert every.result_count == len(_pks(model_name, "France")) + len(_pks(model_name, "UK"))


def test_the_filters_offer_only_the_scopes_values(data):
    """The area filter lists France only; a filter of values in the data lists France's only."""
    html = _staff(areas=["France"]).get(reverse("admin:crm_customer_changelist")).content.decode()
    assert ">France</a>" in html
    assert ">UK</a>" not in html
    assert "Ines Morel" in html
    assert "Oliver Hart" not in html
    changes = _staff(areas=["France"]).get(reverse("admin:crm_change_changelist")).content.decode()
    assert ">France</a>" in changes
    assert ">UK</a>" not in changes


def test_filtering_for_an_area_outside_the_scope_shows_nothing(data):
    """A hand-made ?area__exact=UK finds no row, as an area without rows."""
    client = _staff(areas=["France"])
    response = client.get(reverse("admin:crm_customer_changelist"), {"area__exact": "UK"})
    assert response.context["cl"].result_count == 0
    response = client.get(reverse("admin:crm_opportunity_changelist"), {"customer__area__exact": "UK"})
    assert response.context["cl"].result_count == 0


def _answer(client, url) -> tuple:
    response = client.get(url, follow=True)
    shown = [str(m).replace("“", "").replace("”", "") for m in get_messages(response.wsgi_request)]
    return response.redirect_chain, response.status_code, shown


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("page", ["change", "delete", "history"])
def test_a_page_of_a_uk_row_answers_as_a_row_that_does_not_exist(data, model_name, page):
    """Change, delete and history page of a UK row: the admin's answer for a missing key, same words."""
    if page != "change" and model_name == "change":
        pytest.skip("the Changes list has no history page and deletes nothing")
    client = _staff(areas=["France"])
    (uk,) = _pks(model_name, "UK")[:1]
    missing = _missing_pk(model_name)

    outside = _answer(client, reverse(f"admin:crm_{model_name}_{page}", args=[uk]))
    absent = _answer(client, reverse(f"admin:crm_{model_name}_{page}", args=[missing]))

    assert outside[:2] == absent[:2]
    index = reverse("admin:index")
    assert outside[:2] in (([(index, HTTPStatus.FOUND)], HTTPStatus.OK), ([], HTTPStatus.NOT_FOUND))
    assert [m.replace(str(uk), "KEY") for m in outside[2]] == [
        m.replace(str(missing), "KEY") for m in absent[2]
    ]
    assert _staff(superuser=True).get(reverse(f"admin:crm_{model_name}_{page}", args=[uk])).status_code == (
        HTTPStatus.OK
    )


def test_a_uk_row_cannot_be_changed_or_deleted_by_post(data):
    """Posting to a UK row's change or delete page changes nothing."""
    client = _staff(areas=["France"])
    before = list(Customer.objects.order_by("cid").values())
    client.post(
        reverse("admin:crm_customer_change", args=[9005]), {"customer_name": "Taken over", "area": "France"}
    )
    client.post(reverse("admin:crm_customer_delete", args=[9005]), {"post": "yes"})
    client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: ["9005"]},
    )
    assert list(Customer.objects.order_by("cid").values()) == before


def test_the_customer_autocomplete_finds_only_the_scopes_customers(data):
    """The opportunity form's customer search: France's customers only."""
    client = _staff(areas=["France"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "", "app_label": "crm", "model_name": "opportunity", "field_name": "customer"},
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"] == [{"id": "9001", "text": "Atelier Paris (9001)"}]


# --- Forms ------------------------------------------------------------------------------------------


def _opportunity_post(cid) -> dict:
    return {
        "customer": str(cid),
        "opportunity_name": "Scoped deal",
        "product": Product.PAYROLL,
        "status": Status.PROSPECTING,
        "est_monthly_revenue": "100.00",
        "probability": "",
        "forecast_category": "",
        "expected_close_date": "2025-05-31",
    }


def test_a_deal_cannot_be_attached_to_a_customer_outside_the_scope(data):
    """Add, or move an existing deal, to the UK customer: the error of a customer that does not exist."""
    client = _staff(areas=["France"])
    before = list(Opportunity.objects.order_by("oid").values())

    def errors(url, cid):
        return client.post(url, _opportunity_post(cid)).context["adminform"].form.errors

    add = reverse("admin:crm_opportunity_add")
    change = reverse("admin:crm_opportunity_change", args=["a" * 32])
    assert (
        errors(add, 9005)
        == errors(add, 1)
        == {"customer": ["Select a valid choice. That choice is not one of the available choices."]}
    )
    assert errors(change, 9005) == errors(change, 1)
    assert list(Opportunity.objects.order_by("oid").values()) == before


def test_a_row_cannot_be_given_an_area_outside_the_scope(data):
    """A customer added or moved to UK, an actual added for UK: refused as an area not in the vocabulary."""
    client = _staff(areas=["France"])
    before = {
        name: list(MODELS[name].objects.order_by("pk").values()) for name in ("customer", "revenueactual")
    }
    customer = {
        "customer_name": "Calais Ferries",
        "account_executive": "",
        "technical_specialist": "",
        "industry": "",
        "contract_type": "",
        "contract_start_date": "",
        "contract_end_date": "",
        "is_active": "on",
        "opportunities-TOTAL_FORMS": "0",
        "opportunities-INITIAL_FORMS": "0",
        "opportunities-MIN_NUM_FORMS": "0",
        "opportunities-MAX_NUM_FORMS": "1000",
    }

    def area_error(url, post):
        return client.post(url, post).context["adminform"].form.errors["area"]

    add = reverse("admin:crm_customer_add")
    assert area_error(add, {**customer, "cid": "9100", "area": "UK"}) == [
        "Select a valid choice. UK is not one of the available choices."
    ]
    assert area_error(add, {**customer, "cid": "9100", "area": "Spain"}) == [
        "Select a valid choice. Spain is not one of the available choices."
    ]
    move = reverse("admin:crm_customer_change", args=[9001])
    assert area_error(move, {**customer, "area": "UK"}) == [
        "Select a valid choice. UK is not one of the available choices."
    ]
    actual = {"area": "UK", "month": "2025-03-01", "revenue": "5.00"}
    assert area_error(reverse("admin:crm_revenueactual_add"), actual) == [
        "Select a valid choice. UK is not one of the available choices."
    ]
    assert {name: list(MODELS[name].objects.order_by("pk").values()) for name in before} == before


def test_a_france_only_editor_still_writes_france(data):
    """Within the scope the pages write as before: a deal for the French customer is created."""
    client = _staff(areas=["France"])
    response = client.post(reverse("admin:crm_opportunity_add"), _opportunity_post(9001))
    assert response.status_code == HTTPStatus.FOUND
    assert Opportunity.objects.filter(opportunity_name="Scoped deal", customer_id=9001).count() == 1


# --- Exports ------------------------------------------------------------------------------------------


def _export(client, model_name, action, pks):
    # "Select all" on the whole list: the page's ticks and select_across.
    return client.post(
        reverse(f"admin:crm_{model_name}_changelist"),
        {"action": action, "select_across": "1", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]},
    )


def _body(response) -> bytes:
    # The exports stream their files.
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("model_name", ["customer", "opportunity", "revenueactual", "revenuetarget"])
def test_the_exports_of_a_list_hold_only_the_scopes_rows(data, model_name):
    """CSV and workbook export of the whole list: France's rows; a ticked UK row is not exported."""
    client = _staff(areas=["France"])
    france, uk = _pks(model_name, "France"), _pks(model_name, "UK")

    csv_rows = _body(_export(client, model_name, "export_csv", france)).decode("utf-8-sig").splitlines()
    book = load_workbook(
        io.BytesIO(_body(_export(client, model_name, "export_workbook", france))),
        read_only=True,
    )
    (sheet,) = book.worksheets
    ticked_uk = client.post(
        reverse(f"admin:crm_{model_name}_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: [str(pk) for pk in uk]},
    )

    assert len(csv_rows) == 1 + len(france)
    assert sorted(row[0] for row in list(sheet.iter_rows(values_only=True))[1:]) == sorted(france)
    assert _body(ticked_uk).decode("utf-8-sig").splitlines()[1:] == []


def test_the_import_pages_workbook_export_holds_only_the_scope(data):
    """Export workbook (import page): every sheet with France's rows only."""
    client = _staff(areas=["France"], perms=[*ALL_PERMS, "crm.import_data"])
    response = client.get(reverse("admin:crm_importrun_export"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = {name: list(book[name].iter_rows(values_only=True))[1:] for name in book.sheetnames}
    assert [row[0] for row in rows["Customer"]] == [9001]
    assert [row[0] for row in rows["CRM Opportunities"]] == ["a" * 32]
    assert [row[1] for row in rows["Revenue Actuals"]] == ["France"]
    assert [row[1] for row in rows["Revenue Targets"]] == ["France"]


def test_a_france_only_user_sees_only_their_own_imports(data):
    """Another user's import (its report may name any area) is not listed and answers as missing."""
    others = ImportRun.objects.create(
        file_name="uk.xlsx", file_size=1, file_sha256="0" * 64, dry_run=True, partial=False
    )
    client = _staff(areas=["France"], perms=[*ALL_PERMS, "crm.import_data"])
    own = ImportRun.objects.create(
        user=client.user, file_name="fr.xlsx", file_size=1, file_sha256="1" * 64, dry_run=True, partial=False
    )
    listed = client.get(reverse("admin:crm_importrun_changelist")).context["cl"].result_list
    assert [run.pk for run in listed] == [own.pk]
    assert (
        client.get(reverse("admin:crm_importrun_confirm", args=[others.pk])).status_code
        == HTTPStatus.NOT_FOUND
    )
    every = _staff(superuser=True).get(reverse("admin:crm_importrun_changelist")).context["cl"]
    assert every.result_count == 2


# --- Cost --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["customer", "opportunity", "revenueactual", "revenuetarget"])
def test_a_scoped_list_runs_the_same_queries_as_an_unscoped_one(model_name, django_assert_num_queries):
    """The scope is a condition in the list's own queries: the pinned counts hold for a France-only user."""
    _grow(model_name, 10)
    perms = [f"crm.{action}_{model_name}" for action in ("view", "change")]
    client = _staff(areas=["France"], perms=perms)
    with django_assert_num_queries(LIST_QUERY_COUNTS[model_name]):
        response = client.get(reverse(f"admin:crm_{model_name}_changelist"))
    assert response.context["cl"].result_count == len(_pks(model_name, "France")) > 0


# --- The grants admin ----------------------------------------------------------------------------------


def test_grants_are_edited_by_superusers_only(data):
    """A staff user with every CRM permission gets 403 on the grants; a superuser lists them."""
    staff = _staff(areas=["France"], perms=[*ALL_PERMS, "crm.view_areagrant", "crm.change_areagrant"])
    assert staff.get(reverse("admin:crm_areagrant_changelist")).status_code == HTTPStatus.FORBIDDEN
    assert staff.get(reverse("admin:crm_areagrant_add")).status_code == HTTPStatus.FORBIDDEN
    superuser = _staff(superuser=True)
    response = superuser.get(reverse("admin:crm_areagrant_changelist"))
    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == AreaGrant.objects.count()


def test_a_grant_added_in_the_admin_takes_effect_on_the_next_request(data):
    """A superuser grants UK to a France-only user: that user's next list shows UK too."""
    france = _staff(areas=["France"])
    url = reverse("admin:crm_customer_changelist")
    assert france.get(url).context["cl"].result_count == 1

    response = _staff(superuser=True).post(
        reverse("admin:crm_areagrant_add"), {"user": france.user.pk, "group": "", "area": "UK"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert france.get(url).context["cl"].result_count == 2
    assert scope_for(france.user).areas == ("France", "UK")


def test_a_grant_needs_exactly_one_holder(data):
    """Neither a user nor a group, or both: refused on the form, nothing stored."""
    superuser = _staff(superuser=True)
    group = superuser.user.groups.model.objects.create(name="Paris team")
    before = AreaGrant.objects.count()
    for holder in ({"user": "", "group": ""}, {"user": superuser.user.pk, "group": group.pk}):
        response = superuser.post(reverse("admin:crm_areagrant_add"), {**holder, "area": "UK"})
        assert response.context["adminform"].form.errors == {"user": ["Give a user or a group, not both."]}
    assert AreaGrant.objects.count() == before


def test_user_and_group_pages_edit_their_grants_inline(data):
    """The user's page lists their grants for a superuser; a grant added there is the user's."""
    superuser = _staff(superuser=True)
    france = UserFactory(username="fr-only", areas=["France"])
    page = superuser.get(reverse("admin:auth_user_change", args=[france.pk]))
    formset = next(f for f in page.context["inline_admin_formsets"] if f.formset.model is AreaGrant)
    assert [form.instance.area for form in formset.formset.forms] == ["France"]
    group = superuser.user.groups.model.objects.create(name="UK team")
    page = superuser.get(reverse("admin:auth_group_change", args=[group.pk]))
    assert any(f.formset.model is AreaGrant for f in page.context["inline_admin_formsets"])


def test_opportunity_history_of_a_scoped_user_lists_its_own_areas_entries(data):
    """The France user's history of a French deal shows its entries."""
    deal = opportunity_create(
        cid=9001,
        opportunity_name="Recorded",
        product=Product.PAYROLL,
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("1.00"),
        expected_close_date=datetime.date(2025, 1, 31),
    )
    response = _staff(areas=["France"]).get(reverse("admin:crm_opportunity_history", args=[deal.oid]))
    assert response.status_code == HTTPStatus.OK
    assert "Change history: Recorded" in response.content.decode()


def test_the_changes_csv_export_holds_only_the_scopes_entries(data):
    """The Changes list's CSV export of the whole list: France's entries only."""
    client = _staff(areas=["France"])
    france = _pks("change", "France")
    rows = _export(client, "change", "export_csv", france).content.decode("utf-8-sig").splitlines()
    assert len(rows) == 1 + len(france) == 1 + Change.objects.filter(area="France").count()
    assert all(",France," in row for row in rows[1:])


def test_a_staff_user_who_may_change_users_sees_no_grants_on_their_pages(data):
    """Only superusers read grants: the user page of a staff user with change_user has no grant inline."""
    staff = _staff(areas=["France"], perms=["auth.view_user", "auth.change_user"])
    page = staff.get(reverse("admin:auth_user_change", args=[staff.user.pk]))
    assert page.status_code == HTTPStatus.OK
    assert not any(f.formset.model is AreaGrant for f in page.context["inline_admin_formsets"])


def test_a_deal_gone_from_the_scope_since_the_page_was_read_is_not_saved(data, monkeypatch):
    """The service refuses an update outside the scope as a deleted row: the page says so, writes nothing."""

    def update_outside_the_scope(*, opportunity, scope, **changes):
        # What opportunity_update answers when the customer moved out of the scope meanwhile.
        assert scope == scope_for(client.user)
        raise Opportunity.DoesNotExist(opportunity.oid)

    client = _staff(areas=["France"])
    monkeypatch.setattr(services, "opportunity_update", update_outside_the_scope)
    before = list(Opportunity.objects.order_by("oid").values())
    url = reverse("admin:crm_opportunity_change", args=["a" * 32])

    response = client.post(url, _opportunity_post(9001), follow=True)

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert [str(m) for m in response.context["messages"]] == [
        "Not saved, the data changed meanwhile: this opportunity no longer exists."
    ]
    assert list(Opportunity.objects.order_by("oid").values()) == before
