"""GET /api/customers and /api/customers/{cid}: who may call, what comes back, what is refused."""

import datetime
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.models import Customer
from crm.scopes import AreaScope
from crm.serializers import CustomerSerializer
from crm.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/customers"


def _detail_url(cid) -> str:
    return f"/api/customers/{cid}"


@pytest.fixture
def reader():
    user = UserFactory(permissions=["crm.view_customer"])
    # Load the permission cache now, so query counts below measure the endpoint alone.
    assert user.has_perm("crm.view_customer")
    return user


@pytest.fixture
def reader_client(api_client, reader):
    api_client.force_authenticate(reader)
    return api_client


def _customer(**fields) -> Customer:
    defaults = {
        "customer_name": "Aare Informatik GmbH",
        "area": "Switzerland",
        "account_executive": "Nicole Keller",
        "technical_specialist": "Reto Baumann",
        "industry": "Manufacturing",
        "contract_type": "Annual",
        "contract_start_date": datetime.date(2023, 2, 22),
        "contract_end_date": datetime.date(2026, 2, 22),
        "is_active": True,
        "is_key_account": False,
    }
    return CustomerFactory(**{**defaults, **fields})


def _as_json(customer: Customer) -> dict:
    return {
        "cid": customer.cid,
        "customer_name": customer.customer_name,
        "area": customer.area,
        "account_executive": customer.account_executive,
        "technical_specialist": customer.technical_specialist,
        "industry": customer.industry,
        "contract_type": customer.contract_type,
        "contract_start_date": customer.contract_start_date.isoformat()
        if customer.contract_start_date
        else None,
        "contract_end_date": customer.contract_end_date.isoformat() if customer.contract_end_date else None,
        "is_active": customer.is_active,
        "is_key_account": customer.is_key_account,
    }


def _cids(response) -> list[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["cid"] for row in rows]


def _error(response) -> tuple[str, list[tuple[str, str | None]]]:
    body = response.json()
    return body["type"], [(e["code"], e["attr"]) for e in body["errors"]]


# --- Who may call ------------------------------------------------------------------------
def test_urls_are_named_in_the_api_namespace():
    """The list and detail routes are api:customer-list and api:customer-detail."""
    assert reverse("api:customer-list") == "/api/customers"
    assert reverse("api:customer-detail", kwargs={"cid": 7}) == "/api/customers/7"


@pytest.mark.parametrize("url", [LIST_URL, _detail_url(100)])
def test_anonymous_calls_get_401(api_client, url):
    """Without credentials the API answers 401 in the error shape and names the token scheme."""
    _customer(cid=100)
    response = api_client.get(url)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            }
        ],
    }
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_gets_401(api_client):
    """A token that does not exist is refused with 401 authentication_failed."""
    response = api_client.get(LIST_URL, HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _error(response) == ("client_error", [("authentication_failed", None)])


@pytest.mark.parametrize("url", [LIST_URL, _detail_url(100)])
def test_a_user_without_view_customer_gets_403(api_client, url):
    """Authentication alone is not enough: reading customers needs crm.view_customer."""
    _customer(cid=100)
    user = UserFactory()
    token = Token.objects.create(user=user)
    response = api_client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert _error(response) == ("client_error", [("permission_denied", None)])


def test_a_reader_token_lists_customers(api_client, reader):
    """A token of a user with crm.view_customer reads the whole list."""
    customer = _customer(cid=100)
    token = Token.objects.create(user=reader)
    response = api_client.get(LIST_URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == [_as_json(customer)]


def test_a_reader_in_the_readers_group_lists_customers(api_client):
    """The "CRM readers" group grants what the list needs."""
    from crm.services import api_user_ensure

    customer = _customer(cid=100)
    _, key = api_user_ensure(username="roster-reader", group="CRM readers", areas=AreaScope.ALL)
    response = api_client.get(LIST_URL, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == [_as_json(customer)]


def test_a_session_user_reads_json_and_the_browsable_api(api_client, reader):
    """People logged in with a session get JSON by default and HTML when their browser asks."""
    customer = _customer(cid=100, customer_name="Océane Santé SA")
    api_client.force_login(reader)

    as_json = api_client.get(LIST_URL)
    as_html = api_client.get(LIST_URL, HTTP_ACCEPT="text/html")

    assert as_json.status_code == HTTPStatus.OK
    assert as_json.json() == [_as_json(customer)]
    assert as_html.status_code == HTTPStatus.OK
    assert as_html["Content-Type"].startswith("text/html")
    assert "Océane Santé SA" in as_html.content.decode()


def test_the_browsable_api_pages_too(reader_client):
    """A person paging in the browser sees the same page a JSON client gets."""
    for cid in range(1, 6):
        _customer(cid=cid)
    as_json = reader_client.get(LIST_URL, {"limit": 2, "offset": 2})
    as_html = reader_client.get(LIST_URL, {"limit": 2, "offset": 2, "format": "api"})
    assert as_html.status_code == HTTPStatus.OK
    assert _cids(as_json) == [3, 4]
    assert as_html["Content-Type"].startswith("text/html")
    assert [row["cid"] for row in as_html.data["results"]] == [3, 4]
    assert as_html.data["count"] == 5


# --- The list ------------------------------------------------------------------------------
def test_the_list_is_a_plain_array_of_every_customer_ordered_by_cid(reader_client):
    """Without paging parameters the body is a JSON array of all customers, by cid."""
    later = _customer(cid=300, customer_name="Thames Logistics Ltd", area="UK", is_key_account=True)
    earlier = _customer(cid=20, customer_name="Garonne Distribution SA", area="France", is_active=False)
    response = reader_client.get(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == [_as_json(earlier), _as_json(later)]


def test_an_empty_roster_is_an_empty_array(reader_client):
    """No customers: 200 with [] (not 404)."""
    response = reader_client.get(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == []


def test_the_fast_list_matches_the_serializer(reader_client):
    """The list's fast path renders exactly what CustomerSerializer renders, row for row."""
    _customer(cid=1)
    _customer(cid=2, is_active=False, is_key_account=True, contract_start_date=None, contract_end_date=None)
    _customer(cid=3, account_executive=None, technical_specialist=None, industry=None, contract_type=None)
    _customer(cid=4, area="Benelux", contract_type="Legacy Gold")
    response = reader_client.get(LIST_URL)
    assert response.json() == CustomerSerializer(Customer.objects.order_by("cid"), many=True).data


def test_null_assignments_are_null(reader_client):
    """A customer without team, industry, contract type or dates shows nulls, in list and detail."""
    customer = _customer(
        cid=5,
        account_executive=None,
        technical_specialist=None,
        industry=None,
        contract_type=None,
        contract_start_date=None,
        contract_end_date=None,
    )
    expected = {
        "cid": 5,
        "customer_name": "Aare Informatik GmbH",
        "area": "Switzerland",
        "account_executive": None,
        "technical_specialist": None,
        "industry": None,
        "contract_type": None,
        "contract_start_date": None,
        "contract_end_date": None,
        "is_active": True,
        "is_key_account": False,
    }
    assert reader_client.get(LIST_URL).json() == [expected]
    assert reader_client.get(_detail_url(customer.cid)).json() == expected


def test_legacy_values_outside_the_vocabulary_are_returned_as_stored(reader_client):
    """Rows written by other tools may hold an unknown area or contract type; they still load."""
    _customer(cid=6, area="Benelux", contract_type="Legacy Gold", industry="???")
    listed = reader_client.get(LIST_URL).json()
    detail = reader_client.get(_detail_url(6)).json()
    assert [(c["area"], c["contract_type"], c["industry"]) for c in listed] == [
        ("Benelux", "Legacy Gold", "???")
    ]
    assert (detail["area"], detail["contract_type"], detail["industry"]) == ("Benelux", "Legacy Gold", "???")


NON_ASCII_NAMES = ["Zürich Versicherungen AG", "Société Générale", "Ørsted A/S", "Rocket Café 🚀☕"]


def test_non_ascii_names_round_trip_intact(reader_client):
    """Accents, Nordic letters and emoji (4-byte UTF-8, utf8mb4 on MySQL) come back byte for byte."""
    for cid, name in enumerate(NON_ASCII_NAMES, start=1):
        _customer(cid=cid, customer_name=name, account_executive="Élodie Fournier")
    listed = reader_client.get(LIST_URL)
    assert [c["customer_name"] for c in listed.json()] == NON_ASCII_NAMES
    assert "Rocket Café 🚀☕".encode() in listed.content
    assert reader_client.get(_detail_url(4)).json()["customer_name"] == "Rocket Café 🚀☕"
    assert set(Customer.objects.values_list("customer_name", flat=True)) == set(NON_ASCII_NAMES)


@pytest.mark.mysql
def test_search_ignores_case_and_accents_per_the_mysql_collation(reader_client):
    """On MySQL (utf8mb4_unicode_ci) "zurich" finds "ZÜRICH" and "ørsted" finds "ØRSTED"."""
    _customer(cid=1, customer_name="ZÜRICH VERSICHERUNGEN AG")
    _customer(cid=2, customer_name="ØRSTED A/S")
    _customer(cid=3, customer_name="Thames Logistics Ltd")
    assert _cids(reader_client.get(LIST_URL, {"search": "zurich"})) == [1]
    assert _cids(reader_client.get(LIST_URL, {"search": "ørsted"})) == [2]


# --- Filters, search, ordering ---------------------------------------------------------------
@pytest.fixture
def roster():
    return [
        _customer(
            cid=1, customer_name="Garonne Distribution SA", area="France", account_executive="Julien Moreau"
        ),
        _customer(
            cid=2,
            customer_name="Rhein Maschinenbau GmbH",
            area="Germany",
            technical_specialist="Felix Wagner",
        ),
        _customer(cid=3, customer_name="Aare Informatik GmbH", area="Switzerland", industry="Retail"),
        _customer(
            cid=4, customer_name="Thames Logistics Ltd", area="UK", contract_type="Monthly", is_active=False
        ),
        _customer(cid=5, customer_name="Rijnmond Havens BV", area="Netherlands", is_key_account=True),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"area": "France"}, [1]),
        ({"area": "Netherlands"}, [5]),
        ({"account_executive": "Julien Moreau"}, [1]),
        ({"technical_specialist": "Felix Wagner"}, [2]),
        ({"industry": "Retail"}, [3]),
        ({"contract_type": "Monthly"}, [4]),
        ({"is_active": "false"}, [4]),
        ({"is_active": "0"}, [4]),
        ({"is_active": "true"}, [1, 2, 3, 5]),
        ({"is_active": "1"}, [1, 2, 3, 5]),
        ({"is_key_account": "true"}, [5]),
        ({"is_key_account": "False"}, [1, 2, 3, 4]),
        ({"area": "Germany", "is_active": "true"}, [2]),
        ({"area": "UK", "is_active": "true"}, []),
        ({"area": ""}, [1, 2, 3, 4, 5]),
    ],
)
def test_each_filter_narrows_the_list(reader_client, roster, params, expected):
    """Each filter keeps the matching customers; several combine with AND; an empty value filters nothing."""
    response = reader_client.get(LIST_URL, params)
    assert response.status_code == HTTPStatus.OK
    assert _cids(response) == expected


@pytest.mark.parametrize(
    ("term", "expected"), [("gmbh", [2, 3]), ("GMBH", [2, 3]), ("havens", [5]), ("xyz", [])]
)
def test_search_matches_part_of_the_name_ignoring_case(reader_client, roster, term, expected):
    """search is a case-insensitive substring match on customer_name."""
    assert _cids(reader_client.get(LIST_URL, {"search": term})) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-cid", [5, 4, 3, 2, 1]),
        ("customer_name", [3, 1, 2, 5, 4]),
        ("-area", [4, 3, 5, 2, 1]),
        ("is_active,-cid", [4, 5, 3, 2, 1]),
        ("is_key_account", [1, 2, 3, 4, 5]),
    ],
)
def test_ordering_by_any_column_with_cid_breaking_ties(reader_client, roster, ordering, expected):
    """ordering takes any column, '-' for descending, several separated by commas; cid breaks ties."""
    assert _cids(reader_client.get(LIST_URL, {"ordering": ordering})) == expected


# --- Paging ------------------------------------------------------------------------------
def test_limit_and_offset_return_a_page_with_links(reader_client, roster):
    """limit/offset switch to {count, next, previous, results}; links keep the filters."""
    response = reader_client.get(LIST_URL, {"limit": 2, "offset": 1, "is_active": "true"})
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "count": 4,
        "next": "http://testserver/api/customers?is_active=true&limit=2&offset=3",
        "previous": "http://testserver/api/customers?is_active=true&limit=2",
        "results": [_as_json(roster[1]), _as_json(roster[2])],
    }


def test_the_last_page_has_no_next_link(reader_client, roster):
    """The page that reaches the end has next = null."""
    body = reader_client.get(LIST_URL, {"limit": 2, "offset": 4}).json()
    assert (body["count"], body["next"], _cids(reader_client.get(LIST_URL, {"limit": 2, "offset": 4}))) == (
        5,
        None,
        [5],
    )
    assert body["previous"] == "http://testserver/api/customers?limit=2&offset=2"


def test_offset_alone_pages_with_the_default_limit(reader_client):
    """offset without limit pages 100 at a time."""
    Customer.objects.bulk_create(
        [Customer(cid=cid, customer_name=f"Customer {cid}", area="UK") for cid in range(1, 106)]
    )
    body = reader_client.get(LIST_URL, {"offset": 0}).json()
    assert body["count"] == 105
    assert len(body["results"]) == 100
    assert body["next"] == "http://testserver/api/customers?limit=100&offset=100"


def test_a_limit_of_1000_is_allowed(reader_client, roster):
    """1000 is the largest page."""
    response = reader_client.get(LIST_URL, {"limit": 1000})
    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 5


def test_an_offset_past_the_end_is_an_empty_page(reader_client, roster):
    """Paging beyond the rows answers an empty page, not 404."""
    body = reader_client.get(LIST_URL, {"limit": 10, "offset": 50}).json()
    assert (body["count"], body["results"], body["next"]) == (5, [], None)


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"area": "Mars"}, [("invalid_choice", "area")]),
        ({"area": "france"}, [("invalid_choice", "area")]),
        ({"is_active": "yes"}, [("invalid", "is_active")]),
        ({"is_active": "2"}, [("invalid", "is_active")]),
        ({"is_key_account": "maybe"}, [("invalid", "is_key_account")]),
        ({"ordering": "revenue"}, [("invalid_choice", "ordering")]),
        ({"ordering": "-password"}, [("invalid_choice", "ordering")]),
        ({"ordering": "cid,nope"}, [("invalid_choice", "ordering")]),
        ({"limit": "abc"}, [("invalid", "limit")]),
        ({"limit": "1.5"}, [("invalid", "limit")]),
        ({"limit": ""}, [("required", "limit")]),
        ({"limit": "0"}, [("min_value", "limit")]),
        ({"limit": "-1"}, [("min_value", "limit")]),
        ({"limit": "1001"}, [("max_value", "limit")]),
        ({"offset": "abc"}, [("invalid", "offset")]),
        ({"offset": "-1"}, [("min_value", "offset")]),
        ({"limit": "5000", "offset": "-3"}, [("max_value", "limit"), ("min_value", "offset")]),
        ({"page": "2"}, [("unknown_parameter", "page")]),
        ({"aera": "France"}, [("unknown_parameter", "aera")]),
        ({"limit": "abc", "area": "Mars"}, [("invalid", "limit"), ("invalid_choice", "area")]),
        (
            {"area": "Mars", "is_active": "x", "sort": "cid"},
            [
                ("invalid_choice", "area"),
                ("invalid", "is_active"),
                ("unknown_parameter", "sort"),
            ],
        ),
    ],
)
def test_bad_query_parameters_get_400_naming_them(reader_client, roster, params, errors):
    """Every bad or unknown parameter is a 400 validation_error whose attr names it; nothing is ignored."""
    response = reader_client.get(LIST_URL, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error_type, found = _error(response)
    assert error_type == "validation_error"
    assert sorted(found) == sorted(errors)


def test_a_bad_parameter_error_reads_well(reader_client):
    """The whole 400 body for an unknown area: code, a readable detail and the parameter."""
    response = reader_client.get(LIST_URL, {"area": "Mars"})
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "invalid_choice",
                "detail": "Select a valid choice. Mars is not one of the available choices.",
                "attr": "area",
            }
        ],
    }


# --- Query count ---------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [3, 40])
def test_the_list_takes_one_query_whatever_its_length(reader_client, django_assert_num_queries, rows):
    """One SQL query for the whole list, however many customers."""
    Customer.objects.bulk_create(
        [Customer(cid=cid, customer_name=f"Customer {cid}", area="UK") for cid in range(1, rows + 1)]
    )
    with django_assert_num_queries(1):
        response = reader_client.get(LIST_URL, {"area": "UK", "ordering": "-customer_name"})
    assert len(response.json()) == rows


@pytest.mark.parametrize("rows", [3, 40])
def test_a_page_takes_two_queries(reader_client, django_assert_num_queries, rows):
    """A page costs the count and the page itself."""
    Customer.objects.bulk_create(
        [Customer(cid=cid, customer_name=f"Customer {cid}", area="UK") for cid in range(1, rows + 1)]
    )
    with django_assert_num_queries(2):
        response = reader_client.get(LIST_URL, {"limit": 2, "offset": 1})
    assert response.json()["count"] == rows


# --- Detail ---------------------------------------------------------------------------------
def test_one_customer_by_cid(reader_client, roster):
    """GET /api/customers/{cid} answers that customer, every column."""
    response = reader_client.get(_detail_url(3))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _as_json(roster[2])


@pytest.mark.parametrize("cid", ["999", "0", "abc", "99999999999999999999", "-1", "1.0"])
def test_an_unknown_customer_is_404(reader_client, roster, cid):
    """A cid that does not exist (or cannot exist) answers 404 in the error shape."""
    response = reader_client.get(_detail_url(cid))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert _error(response) == ("client_error", [("not_found", None)])


# --- Paths and methods ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/customers", "/api/customers/", "/api/customers/3", "/api/customers/3/"]
)
def test_every_path_answers_with_and_without_a_trailing_slash(reader_client, roster, url):
    """Both spellings answer 200 directly: no redirect."""
    response = reader_client.get(url, {"area": "Switzerland"} if url.startswith("/api/customers?") else None)
    assert response.status_code == HTTPStatus.OK
    assert "Location" not in response


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", LIST_URL),
        ("put", _detail_url(3)),
        ("patch", _detail_url(3)),
        ("delete", _detail_url(3)),
        ("delete", LIST_URL),
    ],
)
def test_customers_are_read_only(reader_client, roster, method, url):
    """Writes answer 405 in the error shape and change nothing, whatever the caller's rights."""
    before = list(Customer.objects.order_by("cid").values())
    response = getattr(reader_client, method)(url, {"customer_name": "Renamed"}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert _error(response) == ("client_error", [("method_not_allowed", None)])
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert list(Customer.objects.order_by("cid").values()) == before
