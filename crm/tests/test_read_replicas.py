"""Read replicas: which database answers, read-your-writes, lag, and the probe's report.

The suite runs on one database. The ``replica`` fixture adds an alias ``replica1`` that is
the test database's own connection (so it sees each test's rows) and lists it in
REPLICA_DATABASES; its replication status, which only a real replica has, is set per test
through ``crm.replicas.replication_lag``. Real replication, lag and a dying replica are
proven on two MariaDB servers by .ci/replica_drill.py.
"""

from http import HTTPStatus
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connections
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm import replicas
from crm.models import Opportunity
from crm.tests.factories import CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

READ_PERMS = ["crm.view_customer", "crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget"]
WRITE_PERMS = [*READ_PERMS, "crm.add_opportunity", "crm.change_opportunity"]


@pytest.fixture
def replica(db, settings):
    """replica1: the primary's own connection under a second alias, checked on every request."""
    alias = "replica1"
    connections.settings[alias] = connections["default"].settings_dict
    connections[alias] = connections["default"]
    settings.REPLICA_DATABASES = [alias]
    settings.REPLICA_CHECK_SECONDS = 0
    replicas.reset_statuses()
    with mock.patch("crm.replicas.replication_lag", return_value=0.0) as lag:
        yield lag
    replicas.reset_statuses()
    del connections[alias]
    del connections.settings[alias]


def _client(permissions):
    from rest_framework.test import APIClient

    client = APIClient()
    user = UserFactory(permissions=permissions)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def reader():
    return _client(READ_PERMS)


@pytest.fixture
def editor():
    return _client(WRITE_PERMS)


def _new_opportunity(customer) -> dict:
    return {
        "cid": customer.cid,
        "opportunity_name": "Payroll roll-out",
        "product": "Payroll",
        "status": "Proposal",
        "est_monthly_revenue": "1234.50",
        "expected_close_date": "2025-03-31",
    }


def test_without_replicas_every_answer_says_primary(reader):
    """The default set-up has no replica: the API reads the primary and says so."""
    # given
    OpportunityFactory()
    # when
    responses = [reader.get(reverse("api:opportunity-list")), reader.get(reverse("api:forecast"))]
    # then
    assert [r.status_code for r in responses] == [HTTPStatus.OK, HTTPStatus.OK]
    assert [r["X-Read-From"] for r in responses] == ["primary", "primary"]


def test_reports_and_lists_read_from_a_healthy_replica_with_the_same_answer(replica, reader, settings):
    """With a healthy replica the forecast and the lists come from it, identical to the primary's."""
    # given
    OpportunityFactory.create_batch(3)
    settings.REPLICA_DATABASES = []
    on_primary = [reader.get(reverse("api:forecast")), reader.get(reverse("api:opportunity-list"))]
    settings.REPLICA_DATABASES = ["replica1"]
    # when
    on_replica = [reader.get(reverse("api:forecast")), reader.get(reverse("api:opportunity-list"))]
    # then
    assert [r["X-Read-From"] for r in on_primary] == ["primary", "primary"]
    assert [r["X-Read-From"] for r in on_replica] == ["replica", "replica"]
    assert [r.json() for r in on_replica] == [r.json() for r in on_primary]


def test_a_write_and_its_read_back_are_on_the_primary(replica, editor):
    """POST is answered from the primary, and the writer's next read too (read-your-writes)."""
    # given
    customer = CustomerFactory()
    # when
    created = editor.post(reverse("api:opportunity-list"), _new_opportunity(customer), format="json")
    read_back = editor.get(reverse("api:opportunity-detail", args=[created.json()["oid"]]))
    # then
    assert created.status_code == HTTPStatus.CREATED
    assert created["X-Read-From"] == "primary"
    assert read_back.status_code == HTTPStatus.OK
    assert read_back["X-Read-From"] == "primary"
    assert read_back.json() == created.json()


def test_other_users_keep_reading_the_replica_after_someone_writes(replica, editor, reader):
    """Read-your-writes is per user: a write sends only its author's reads to the primary."""
    # given
    customer = CustomerFactory()
    editor.post(reverse("api:opportunity-list"), _new_opportunity(customer), format="json")
    # when
    response = reader.get(reverse("api:opportunity-list"))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response["X-Read-From"] == "replica"
    assert Opportunity.objects.count() == 1


def test_the_writer_is_back_on_the_replica_once_the_window_is_over(replica, editor):
    """With a zero READ_YOUR_WRITES_SECONDS window the next read is a replica's."""
    # given
    customer = CustomerFactory()
    with mock.patch("django.conf.settings.READ_YOUR_WRITES_SECONDS", 0):
        editor.post(reverse("api:opportunity-list"), _new_opportunity(customer), format="json")
        # when
        response = editor.get(reverse("api:opportunity-list"))
    # then
    assert response["X-Read-From"] == "replica"


def test_a_failed_write_attempt_still_pins_the_writer_for_the_window(replica, editor):
    """Any write request (even one refused with 400) sends its user's next reads to the primary."""
    # given
    bad = {**_new_opportunity(CustomerFactory()), "est_monthly_revenue": "-1"}
    # when
    refused = editor.post(reverse("api:opportunity-list"), bad, format="json")
    response = editor.get(reverse("api:opportunity-list"))
    # then
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert response["X-Read-From"] == "primary"


def test_a_replica_lagging_past_the_limit_is_skipped(replica, reader):
    """Lag above REPLICA_MAX_LAG_SECONDS (10 s) sends reads to the primary; the answer is unchanged."""
    # given
    OpportunityFactory()
    replica.return_value = 10.5
    # when
    response = reader.get(reverse("api:opportunity-list"))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response["X-Read-From"] == "primary"
    assert len(response.json()) == 1


def test_a_replica_within_the_limit_is_used(replica, reader):
    """Lag at the limit is still acceptable."""
    replica.return_value = 10.0
    assert reader.get(reverse("api:opportunity-list"))["X-Read-From"] == "replica"


def test_stopped_replication_is_used_only_while_its_data_is_younger_than_the_limit(replica, reader, settings):
    """Replication stopped (no lag reported): the replica serves until its last-known lag plus the time
    since then passes the limit; a replica never seen replicating is not used at all."""
    # given: seen replicating 3 s behind, then stopped
    replica.return_value = 3.0
    first = reader.get(reverse("api:opportunity-list"))
    replica.return_value = None
    settings.REPLICA_MAX_LAG_SECONDS = 5
    # when
    still_fresh = reader.get(reverse("api:opportunity-list"))
    settings.REPLICA_MAX_LAG_SECONDS = 2
    too_old = reader.get(reverse("api:opportunity-list"))
    replicas.reset_statuses()
    never_seen = reader.get(reverse("api:opportunity-list"))
    # then
    assert [r["X-Read-From"] for r in (first, still_fresh, too_old, never_seen)] == [
        "replica",
        "replica",
        "primary",
        "primary",
    ]


def test_a_replica_that_does_not_answer_is_skipped_without_an_error(replica, reader):
    """A replica that cannot be reached costs nothing but the choice: 200 from the primary."""
    # given
    OpportunityFactory()
    replica.side_effect = OperationalError(2003, "Can't connect to MySQL server on 'replica' (111)")
    # when
    response = reader.get(reverse("api:opportunity-list"))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response["X-Read-From"] == "primary"
    assert len(response.json()) == 1


def test_admin_and_outside_requests_read_the_primary(replica, admin_client):
    """Only the API's safe requests use a replica: the admin (edit forms) reads the primary."""
    # given
    opportunity = OpportunityFactory()
    router = replicas.ReplicaRouter()
    # when
    response = admin_client.get(reverse("admin:crm_opportunity_change", args=[opportunity.pk]))
    # then
    assert response.status_code == HTTPStatus.OK
    assert "X-Read-From" not in response
    assert router.db_for_read(Opportunity) is None  # outside a request: Django's default, the primary


def test_grants_tokens_and_idempotency_keys_are_never_read_from_a_replica(replica, rf):
    """Inside an API request only the four CRM tables may go to the replica."""
    from crm.models import IdempotencyKey

    # given
    router = replicas.ReplicaRouter()
    request = rf.get("/api/opportunities")
    request.user = User()
    replicas._current.set(replicas.RequestReads(request))
    try:
        # when
        aliases = {m.__name__: router.db_for_read(m) for m in (User, Token, IdempotencyKey, Opportunity)}
    finally:
        replicas._current.set(None)
    # then
    assert aliases == {
        "User": "default",
        "Token": "default",
        "IdempotencyKey": "default",
        "Opportunity": "replica1",
    }
    assert router.db_for_write(Opportunity) == "default"
    assert router.allow_migrate("replica1", "crm") is False
    assert router.allow_migrate("default", "crm") is True


def test_readyz_reports_each_database(replica, api_client):
    """The probe names each database's state; a lagging replica does not make the instance unready."""
    # given
    replica.return_value = 42.0
    # when
    response = api_client.get("/readyz")
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "databases": {
            "default": {"state": "ok"},
            "replica1": {"state": "lagging", "lag_seconds": 42.0, "serving_reads": False},
        },
        "cache": "ok",
    }


def test_readyz_reports_an_unreachable_replica_and_stays_ready(replica, api_client):
    """A replica that does not answer is reported unavailable; the primary still serves, so 200."""
    replica.side_effect = OperationalError(2003, "Can't connect to MySQL server on 'replica' (111)")
    response = api_client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["databases"]["replica1"] == {
        "state": "unavailable",
        "lag_seconds": None,
        "serving_reads": False,
    }


@pytest.mark.mysql
def test_replication_lag_of_a_server_that_replicates_nothing_is_zero(settings):
    """SHOW REPLICA STATUS on a server that is no replica has no rows: nothing to lag behind.

    The test server is not a replica; the project user may lack the privilege to ask, which is
    an error the caller turns into "unavailable" (see docs/operations.md for the grant).
    """
    try:
        lag = replicas.replication_lag(connections["default"])
    except OperationalError as exc:
        assert exc.args[0] == 1227  # access denied: REPLICATION CLIENT / SLAVE MONITOR missing
    else:
        assert lag == 0.0


def test_with_the_cache_down_reads_go_to_the_primary(replica, reader, settings):
    """When the cache cannot say whether the user just wrote, the primary answers (read-your-writes holds)."""
    from crm.cache import wrap

    # given a cache server that does not answer
    settings.CACHES = {
        "default": wrap(
            {"BACKEND": "crm.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
            retry_seconds=60,
        )
    }
    # when
    response = reader.get(reverse("api:opportunity-list"))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response["X-Read-From"] == "primary"


def test_replica_hosts_become_aliases_that_mirror_the_primary_in_tests():
    """MYSQL_REPLICA_HOSTS=host[:port],... gives replica1, replica2 with the primary's credentials."""
    import os
    import runpy

    from crm.tests.test_settings import SETTINGS, _clean_environ

    # given
    env = _clean_environ(
        MYSQL_HOST="primary.internal",
        MYSQL_USER="crm",
        MYSQL_DB="intrasoft",
        MYSQL_TEST_DB="test_x",
        MYSQL_REPLICA_HOSTS="replica-a.internal,replica-b.internal:3307",
    )
    # when
    with mock.patch.dict(os.environ, env, clear=True):
        values = runpy.run_path(str(SETTINGS))
    # then
    dbs = values["DATABASES"]
    picked = {a: {k: dbs[a].get(k) for k in ("HOST", "PORT", "USER", "NAME", "TEST")} for a in dbs}
    assert values["REPLICA_DATABASES"] == ["replica1", "replica2"]
    assert dbs["replica1"]["OPTIONS"]["connect_timeout"] == 1
    assert dbs["replica1"]["OPTIONS"]["charset"] == "utf8mb4"
    assert picked["replica1"] == {
        "HOST": "replica-a.internal",
        "PORT": 3306,
        "USER": "crm",
        "NAME": "intrasoft",
        "TEST": {"MIRROR": "default"},
    }
    assert (picked["replica2"]["HOST"], picked["replica2"]["PORT"]) == ("replica-b.internal", 3307)
    assert picked["default"]["TEST"]["NAME"] == "test_x"


def test_replica_hosts_need_a_mysql_primary():
    """MYSQL_REPLICA_HOSTS without a MySQL primary stops the settings with one line."""
    import os
    import runpy

    from crm.tests.test_settings import SETTINGS, _clean_environ

    env = _clean_environ(MYSQL_REPLICA_HOSTS="replica-a.internal")
    with mock.patch.dict(os.environ, env, clear=True), pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETTINGS))
    assert "MYSQL_REPLICA_HOSTS needs a MySQL primary" in str(stopped.value)
