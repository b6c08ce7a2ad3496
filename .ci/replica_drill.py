"""Replica drill: two instances on a primary, a replica and Redis, with real replication.

    python .ci/replica_drill.py           # the full run (make drill-replicas): longer load figures
    python .ci/replica_drill.py --short   # CI's run (about two minutes)

Needs MariaDB (mariadbd, mariadb-install-db), redis-server and wrk. Everything it starts is
private and on loopback: a MariaDB primary (server-id 1, binary log, port
REPLICA_DRILL_PRIMARY_PORT, default 3331) and a replica of it (server-id 2, ``CHANGE MASTER
TO``, port REPLICA_DRILL_REPLICA_PORT, 3332), each with a temporary data directory; Redis
(REPLICA_DRILL_REDIS_PORT, 6391, nothing saved); and gunicorn twice with the production
settings (REPLICA_DRILL_APP_PORTS, 8231,8232), both on the primary with
MYSQL_REPLICA_HOSTS=the replica and CACHE_URL=the Redis. Checks, in order:

1. read-your-writes: each opportunity created through one instance is read back through the
   other at once (200, from the primary), while another user's reads come from the replica;
2. replication stopped (STOP SLAVE): the writer still reads back through the other instance;
   another user first gets the stale replica (404 for the new row: proof it is behind), then,
   once the lag limit passes, every answer comes from the primary with the new row; after
   START SLAVE, reads return to the replica, which has caught up;
3. replication running but behind (a transaction on the replica holds the row the replicated
   UPDATE needs): the writer reads its change back at once; another user gets the old value
   from the replica until SHOW SLAVE STATUS reports more lag than the limit, then the new
   value from the primary; back on the replica once the lock is released;
4. the load script (.ci/load.py, wrk) on one instance, then on both together: throughput and
   p99 side by side (no error allowed);
5. Redis stopped and started under load: no 5xx, no dropped connection; /readyz reports it;
6. the replica killed (SIGKILL) under load: no failed request but those in flight at the kill;
   reads go on from the primary; /readyz reports the replica unavailable and stays 200;
7. the rate limit holds across both instances: with THROTTLE_USER=N/min, alternate requests
   through the two instances get exactly N answers 200 (a count per process would allow
   N x processes).

Exit status 0 and "PASS" on the last line when every check holds; everything started is
stopped and its files removed either way.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from load import HEADER, machine, one_and_two_instances, row
from serverkit import ROOT, PrivateMariaDB, PrivateRedis, api_token, create_database, gunicorn, log, mysql_env

SHORT = "--short" in sys.argv[1:]
PRIMARY_PORT = int(os.environ.get("REPLICA_DRILL_PRIMARY_PORT", "3331"))
REPLICA_PORT = int(os.environ.get("REPLICA_DRILL_REPLICA_PORT", "3332"))
REDIS_PORT = int(os.environ.get("REPLICA_DRILL_REDIS_PORT", "6391"))
APP_PORTS = tuple(int(p) for p in os.environ.get("REPLICA_DRILL_APP_PORTS", "8231,8232").split(","))
WORKERS = int(os.environ.get("REPLICA_DRILL_WORKERS", "3"))
MAX_LAG = 4  # REPLICA_MAX_LAG_SECONDS for the drill: short, so the stop phase is short
CHECK_SECONDS = 1  # REPLICA_CHECK_SECONDS
RYW_SECONDS = 3  # READ_YOUR_WRITES_SECONDS
RATE = 20  # THROTTLE_USER for the rate-limit check, per minute
LOAD_SECONDS = 5 if SHORT else 15
LOAD_CONNECTIONS = 8
DB_NAME = "test_intrasoft_replica_drill"
NAME_PREFIX = "replica-drill-"


# --- Servers -----------------------------------------------------------------------------------


def start_replication(primary: PrivateMariaDB, replica: PrivateMariaDB) -> None:
    replica.query(
        "mysql",
        f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, MASTER_USER='repl', "
        "MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos",
    )
    replica.query("mysql", "START SLAVE")
    wait_for(lambda: replication_running(replica), 30, "replication to start")


def replication_running(replica: PrivateMariaDB) -> bool:
    status = slave_status(replica)
    return status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes"


def slave_status(replica: PrivateMariaDB) -> dict:
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", port=replica.port, user="drill", connect_timeout=5)
    try:
        cursor = conn.cursor()
        cursor.execute("SHOW SLAVE STATUS")
        row_ = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row_, strict=True)) if row_ else {}
    finally:
        conn.close()


def wait_for(condition, seconds: float, what: str, interval: float = 0.2) -> float:
    """Seconds until condition() held; raises when it does not within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if condition():
                return time.monotonic() - started
        except Exception:  # noqa: S110 - a server still starting
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {seconds:.0f}s")


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Answer:
    op: str
    port: int
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    read_from: str | None = None
    body: dict | list | None = None
    error: str | None = None


def call(port: int, token: str, method: str, path: str, body: dict | None = None, op: str = "") -> Answer:
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return Answer(
            op or method,
            port,
            started,
            time.monotonic(),
            response.status,
            response.getheader("X-Read-From"),
            parsed,
        )
    except OSError as exc:
        return Answer(op or method, port, started, time.monotonic(), None, error=repr(exc))
    finally:
        conn.close()


def probe(port: int) -> dict:
    answer = call(port, "", "GET", "/readyz")
    return {**(answer.body if isinstance(answer.body, dict) else {}), "status": answer.status}


def new_opportunity(cid: int) -> dict:
    return {
        "cid": cid,
        "opportunity_name": f"{NAME_PREFIX}{uuid.uuid4().hex}",
        "product": "Payroll",
        "status": "Prospecting",
        "est_monthly_revenue": "1000.00",
        "expected_close_date": "2025-05-31",
    }


@dataclass
class Drill:
    writer: str
    reader: str
    cids: list[int]
    oids: list[str]
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.problems.append(message)
            log(f"FAIL: {message}")
        return ok

    def create(self, port: int) -> Answer:
        return call(
            port,
            self.writer,
            "POST",
            "/api/opportunities",
            new_opportunity(random.choice(self.cids)),
            "create",
        )

    def read(self, port: int, token: str, oid: str) -> Answer:
        return call(port, token, "GET", f"/api/opportunities/{oid}", op="detail")


# --- Load in threads (for the fault phases) ------------------------------------------------


@dataclass
class Load:
    drill: Drill
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def _writer(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            first, other = rng.sample(APP_PORTS, 2)
            created = self.drill.create(first)
            answers = [created]
            if created.status == 201 and isinstance(created.body, dict):
                answers.append(self.drill.read(other, self.drill.writer, created.body["oid"]))
                answers[-1].op = "read-back"
            with self.lock:
                self.answers.extend(answers)

    def _reader(self, seed: int) -> None:
        rng = random.Random(seed)
        paths = ["/api/opportunities?limit=20", "/api/forecast", "/api/customers?limit=20"]
        while not self.stop.is_set():
            port = rng.choice(APP_PORTS)
            if rng.random() < 0.5:
                answer = self.drill.read(port, self.drill.reader, rng.choice(self.drill.oids))
            else:
                answer = call(port, self.drill.reader, "GET", rng.choice(paths), op="list")
            with self.lock:
                self.answers.append(answer)
            time.sleep(0.01)

    @contextmanager
    def running(self, writers: int = 2, readers: int = 3):
        self.threads = [threading.Thread(target=self._writer, args=(n,), daemon=True) for n in range(writers)]
        self.threads += [
            threading.Thread(target=self._reader, args=(100 + n,), daemon=True) for n in range(readers)
        ]
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(timeout=60)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for a in self.answers:
            key = f"{a.op}:{a.status or 'no-answer'}"
            counts[key] = counts.get(key, 0) + 1
        return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))


# --- The checks --------------------------------------------------------------------------------


def check_read_your_writes(drill: Drill) -> None:
    log("1. read-your-writes across instances, replication running")
    for i in range(10):
        first, other = APP_PORTS[i % 2], APP_PORTS[(i + 1) % 2]
        created = drill.create(first)
        if not drill.check(created.status == 201, f"create through {first}: {created.status} {created.body}"):
            continue
        back = drill.read(other, drill.writer, created.body["oid"])
        drill.check(
            back.status == 200 and back.body == created.body and back.read_from == "primary",
            f"read-back through {other}: {back.status} from {back.read_from}",
        )
    others = [call(port, drill.reader, "GET", "/api/opportunities?limit=5") for port in APP_PORTS * 5]
    drill.check(
        all(a.status == 200 and a.read_from == "replica" for a in others),
        f"another user's reads: {[(a.status, a.read_from) for a in others]} (expected 200 from the replica)",
    )


def check_replication_stopped(drill: Drill, replica: PrivateMariaDB) -> None:
    log(f"2. STOP SLAVE: lag limit {MAX_LAG}s, checked every {CHECK_SECONDS}s")
    # Every worker sees the replica replicating just before the stop (a worker that never did
    # would skip it at once, and the stale read below would not happen).
    time.sleep(CHECK_SECONDS)
    for port in APP_PORTS * 3 * WORKERS:
        call(port, drill.reader, "GET", "/api/opportunities?limit=1")
    replica.query("mysql", "STOP SLAVE")
    stopped = time.monotonic()
    created = drill.create(APP_PORTS[0])
    if not drill.check(created.status == 201, f"create with replication stopped: {created.status}"):
        return
    oid = created.body["oid"]
    back = drill.read(APP_PORTS[1], drill.writer, oid)
    drill.check(
        back.status == 200 and back.read_from == "primary",
        f"writer's read-back with replication stopped: {back.status} from {back.read_from}",
    )
    # A worker that never saw the replica replicating skips it at once; the others serve its
    # stale data until the limit: at least one must, or the drill proves nothing.
    early = [drill.read(port, drill.reader, oid) for port in APP_PORTS * 4]
    drill.check(
        any(a.status == 404 and a.read_from == "replica" for a in early),
        f"another user right after the stop: {[(a.status, a.read_from) for a in early]} "
        "(expected the stale replica's 404: the drill needs a replica that is behind)",
    )
    # Poll as the other user until every worker of both instances has moved to the primary.
    answers: list[Answer] = list(early)
    moved_at = None
    deadline = stopped + MAX_LAG + CHECK_SECONDS + 6
    streak = 0
    while time.monotonic() < deadline:
        answer = drill.read(APP_PORTS[len(answers) % 2], drill.reader, oid)
        answers.append(answer)
        streak = streak + 1 if answer.status == 200 and answer.read_from == "primary" else 0
        if streak >= 12:
            moved_at = time.monotonic() - stopped
            break
        time.sleep(0.1)
    bad = [a for a in answers if (a.status, a.read_from) not in ((404, "replica"), (200, "primary"))]
    drill.check(not bad, f"answers with replication stopped: {[(a.status, a.read_from) for a in bad]}")
    late = [
        a for a in answers if a.read_from == "replica" and a.started - stopped > MAX_LAG + CHECK_SECONDS + 1
    ]
    drill.check(not late, f"{len(late)} reads from the stopped replica after the lag limit passed")
    if drill.check(moved_at is not None, "reads did not move to the primary after the lag limit"):
        log(f"   another user's reads all on the primary {moved_at:.1f}s after STOP SLAVE (limit {MAX_LAG}s)")
    replica.query("mysql", "START SLAVE")
    started = time.monotonic()
    try:
        back_after = wait_for(
            lambda: all(
                (a := drill.read(port, drill.reader, oid)).status == 200 and a.read_from == "replica"
                for port in APP_PORTS * 6
            ),
            CHECK_SECONDS + 15,
            "reads back on the replica after START SLAVE",
        )
        log(f"   START SLAVE: reads back on the replica, new row there, within {back_after:.1f}s")
    except TimeoutError as exc:
        drill.check(False, str(exc))
    drill.check(time.monotonic() - started < 30, "replica took too long to catch up")


def check_replica_lagging(drill: Drill, replica: PrivateMariaDB) -> None:
    """Replication running but behind: the replica's applier waits on a row lock held there."""
    import MySQLdb

    log(f"3. the replica falls behind while replicating (lag from SHOW SLAVE STATUS, limit {MAX_LAG}s)")
    created = drill.create(APP_PORTS[0])
    if not drill.check(created.status == 201, f"create before the lag: {created.status}"):
        return
    oid, old_name = created.body["oid"], created.body["opportunity_name"]
    wait_for(
        lambda: replica.query(DB_NAME, "SELECT 1 FROM crm_opportunities WHERE oid=%s", (oid,)), 10, "row"
    )
    time.sleep(CHECK_SECONDS)
    for port in APP_PORTS * 3 * WORKERS:
        call(port, drill.reader, "GET", "/api/opportunities?limit=1")
    # A transaction on the replica locks the row; the replicated UPDATE waits behind it.
    lock = MySQLdb.connect(host="127.0.0.1", port=replica.port, user="drill", db=DB_NAME, connect_timeout=5)
    try:
        lock.autocommit(False)
        lock.cursor().execute("SELECT oid FROM crm_opportunities WHERE oid=%s FOR UPDATE", (oid,))
        new_name = f"{NAME_PREFIX}renamed-{uuid.uuid4().hex}"
        changed = call(
            APP_PORTS[0], drill.writer, "PATCH", f"/api/opportunities/{oid}", {"opportunity_name": new_name}
        )
        behind_since = time.monotonic()
        if not drill.check(changed.status == 200, f"PATCH while the replica is held: {changed.status}"):
            return
        back = drill.read(APP_PORTS[1], drill.writer, oid)
        drill.check(
            back.status == 200
            and back.read_from == "primary"
            and back.body.get("opportunity_name") == new_name,
            f"writer's read-back of its change: {back.status} from {back.read_from}",
        )
        answers = [drill.read(port, drill.reader, oid) for port in APP_PORTS * 4]
        drill.check(
            any(a.read_from == "replica" and a.body.get("opportunity_name") == old_name for a in answers),
            f"another user right after the change: {[(a.status, a.read_from) for a in answers]} "
            "(expected the old name from the lagging replica)",
        )
        streak, moved_at = 0, None
        while time.monotonic() - behind_since < MAX_LAG + CHECK_SECONDS + 8:
            answer = drill.read(APP_PORTS[len(answers) % 2], drill.reader, oid)
            answers.append(answer)
            fresh = answer.status == 200 and answer.body.get("opportunity_name") == new_name
            streak = streak + 1 if fresh and answer.read_from == "primary" else 0
            if streak >= 12:
                moved_at = time.monotonic() - behind_since
                break
            time.sleep(0.1)
        status = slave_status(replica)
        lag = status.get("Seconds_Behind_Master")
        drill.check(
            status.get("Slave_SQL_Running") == "Yes" and lag is not None and lag > MAX_LAG,
            f"replica while held: SQL thread {status.get('Slave_SQL_Running')}, Seconds_Behind_Master {lag}",
        )
        expected = {("replica", old_name), ("primary", new_name)}
        wrong = [
            a
            for a in answers
            if a.status != 200 or (a.read_from, a.body.get("opportunity_name")) not in expected
        ]
        drill.check(not wrong, f"answers while lagging: {[(a.status, a.read_from) for a in wrong]}")
        if drill.check(
            moved_at is not None, "reads did not move to the primary once the lag passed the limit"
        ):
            log(f"   Seconds_Behind_Master {lag}s; reads all on the primary {moved_at:.1f}s after the change")
    finally:
        lock.rollback()
        lock.close()
    try:
        back_after = wait_for(
            lambda: all(
                (a := drill.read(port, drill.reader, oid)).read_from == "replica"
                and a.body.get("opportunity_name") == new_name
                for port in APP_PORTS * 6
            ),
            CHECK_SECONDS + 15,
            "reads back on the replica once it caught up",
        )
        log(f"   lock released: the replica caught up, reads back on it within {back_after:.1f}s")
    except TimeoutError as exc:
        drill.check(False, str(exc))


def check_load(drill: Drill, ids: dict) -> None:
    log(f"4. load: one instance, then both ({LOAD_SECONDS}s per run, mixed, c={LOAD_CONNECTIONS})")
    runs = one_and_two_instances(ids, APP_PORTS, LOAD_CONNECTIONS, LOAD_SECONDS)
    print("\n" + HEADER)
    for f in runs:
        print(row(f["label"], f))
    print(f"\n{WORKERS} sync workers per instance; machine: {machine()}\n", flush=True)
    for f in runs:
        drill.check(f["errors"] == 0, f"load {f['label']}: {f['errors']} errors")


def check_redis_outage(drill: Drill, redis: PrivateRedis) -> None:
    log("5. Redis stopped and started under load")
    load = Load(drill)
    with load.running():
        time.sleep(2)
        redis.stop()
        down = time.monotonic()
        time.sleep(1.5)
        probes_down = [probe(port) for port in APP_PORTS]
        time.sleep(1.5)
        redis.start()
        up = time.monotonic()
        time.sleep(3.5)
        probes_up = [probe(port) for port in APP_PORTS]
    log(f"   {len(load.answers)} requests: {load.summary()}")
    failed = [a for a in load.answers if a.status not in (200, 201)]
    drill.check(not failed, f"with Redis stopped/started: {[(a.op, a.status, a.error) for a in failed[:10]]}")
    during = [a for a in load.answers if a.started >= down and a.ended <= up]
    drill.check(len(during) >= 10, f"only {len(during)} requests while Redis was down")
    drill.check(
        [(p["status"], p.get("cache")) for p in probes_down] == [(200, "unavailable")] * 2,
        f"/readyz with Redis down: {probes_down}",
    )
    drill.check(
        [(p["status"], p.get("cache")) for p in probes_up] == [(200, "ok")] * 2,
        f"/readyz with Redis back: {probes_up}",
    )


def check_replica_killed(drill: Drill, replica: PrivateMariaDB) -> None:
    log("6. the replica killed (SIGKILL) under load")
    load = Load(drill)
    with load.running():
        time.sleep(2)
        killed = time.monotonic()
        replica.proc.kill()
        replica.proc.wait()
        time.sleep(4)
        probes = [probe(port) for port in APP_PORTS]
    log(f"   {len(load.answers)} requests: {load.summary()}")
    in_flight = [a for a in load.answers if a.started <= killed <= a.ended]
    failed = [a for a in load.answers if a.status not in (200, 201) and a not in in_flight]
    drill.check(
        not failed, f"failed requests not in flight at the kill: {[(a.op, a.status) for a in failed[:10]]}"
    )
    log(f"   {len(in_flight)} in flight at the kill: {[(a.op, a.status) for a in in_flight]}")
    after = [a for a in load.answers if a.started > killed + 0.5 and a.op in ("detail", "list")]
    drill.check(
        len(after) >= 10 and all(a.read_from == "primary" for a in after),
        f"reads after the kill: {len(after)}, from {sorted({a.read_from or '-' for a in after})}",
    )
    states = [(p["status"], p.get("databases", {}).get("replica1", {}).get("state")) for p in probes]
    drill.check(states == [(200, "unavailable")] * 2, f"/readyz with the replica dead: {probes}")


def check_shared_rate_limit(drill: Drill, env: dict, stack: ExitStack, tmp: Path) -> None:
    log(f"7. rate limit THROTTLE_USER={RATE}/min across both instances ({WORKERS} workers each)")
    limited = {**env, "THROTTLE_USER": f"{RATE}/min"}
    for port in APP_PORTS:
        stack.enter_context(
            gunicorn(limited, port, workers=WORKERS, log_path=tmp / f"gunicorn-limited-{port}.log")
        )
    token = api_token(env, f"limit-{uuid.uuid4().hex[:8]}", "reader")
    answers = [call(APP_PORTS[i % 2], token, "GET", "/api/vocabulary") for i in range(RATE * 3)]
    statuses = [a.status for a in answers]
    allowed = statuses.count(200)
    log(f"   {len(answers)} requests alternating: {allowed} answered 200, {statuses.count(429)} answered 429")
    drill.check(
        allowed == RATE and statuses.count(429) == len(answers) - RATE,
        f"shared limit {RATE}: {allowed} allowed (per process it would be up to {RATE * WORKERS * 2})",
    )


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="intrasoft-replicas-"))
    primary = PrivateMariaDB(
        PRIMARY_PORT,
        extra_args=("--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW"),
        prefix="intrasoft-primary-",
    )
    replica = PrivateMariaDB(
        REPLICA_PORT,
        extra_args=("--server-id=2", "--relay-log=replica-relay-bin", "--log-basename=replica"),
        prefix="intrasoft-replica-",
    )
    redis = PrivateRedis(REDIS_PORT, tmp)
    env = mysql_env(
        DB_NAME,
        MYSQL_HOST="127.0.0.1",
        MYSQL_PORT=str(PRIMARY_PORT),
        MYSQL_USER="drill",
        MYSQL_PASSWORD="",
        MYSQL_REPLICA_HOSTS=f"127.0.0.1:{REPLICA_PORT}",
        CACHE_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
        REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
        REPLICA_CHECK_SECONDS=str(CHECK_SECONDS),
        READ_YOUR_WRITES_SECONDS=str(RYW_SECONDS),
        REPLICA_CONNECT_TIMEOUT="1",
        DB_CONNECT_TIMEOUT="2",
    )
    drill = None
    try:
        log(f"replicas: MariaDB primary :{PRIMARY_PORT}, replica :{REPLICA_PORT}, Redis :{REDIS_PORT}")
        installs = [threading.Thread(target=db.install) for db in (primary, replica)]
        for t in installs:
            t.start()
        for t in installs:
            t.join()
        primary.start()
        replica.start()
        start_replication(primary, replica)
        redis.start()
        create_database(env)
        writer = api_token(env, "drill-writer", "editor")
        reader = api_token(env, "drill-reader", "reader")
        cids = [r[0] for r in primary.query(DB_NAME, "SELECT cid FROM customer ORDER BY cid LIMIT 50")]
        oids = [r[0] for r in primary.query(DB_NAME, "SELECT oid FROM crm_opportunities ORDER BY oid")]
        wait_for(
            lambda: replica.query(DB_NAME, "SELECT COUNT(*) FROM crm_opportunities")[0][0] == len(oids),
            30,
            "the replica to have the demo data",
        )
        log(f"replicas: demo data on the primary and replicated; {len(oids)} opportunities")
        drill = Drill(writer=writer, reader=reader, cids=cids, oids=oids)
        ids = {"token": writer, "read_token": reader, "cids": cids, "oids": oids}
        with ExitStack() as stack:
            for port in APP_PORTS:
                stack.enter_context(
                    gunicorn(env, port, workers=WORKERS, log_path=tmp / f"gunicorn-{port}.log")
                )
            check_read_your_writes(drill)
            check_replication_stopped(drill, replica)
            check_replica_lagging(drill, replica)
            check_load(drill, ids)
            check_redis_outage(drill, redis)
            check_replica_killed(drill, replica)
        with ExitStack() as stack:
            check_shared_rate_limit(drill, env, stack, tmp)
        if drill.problems:
            for name in sorted(tmp.glob("gunicorn-*.log")):
                log(f"last lines of {name.name}:")
                print("\n".join(name.read_text(errors="replace").splitlines()[-15:]), flush=True)
            print("FAIL", flush=True)
            return 1
        print("PASS", flush=True)
        return 0
    finally:
        redis.stop()
        replica.cleanup()
        primary.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
