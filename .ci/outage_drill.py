"""Database outage drill: stop MySQL under load, start it again, lose nothing.

    python .ci/outage_drill.py          # needs MariaDB (mariadbd, mariadb-install-db)

A private MariaDB instance (a temporary data directory, 127.0.0.1:DRILL_DB_PORT, default
3307) holds the demo data; never the shared server. gunicorn serves the app on it with the
production settings (127.0.0.1:DRILL_PORT, default 8106). Client threads run a mix of list
reads, detail reads and creates while the drill

1. runs healthy for a few seconds,
2. stops the database (SIGTERM, a clean shutdown) and keeps it down,
3. starts it again on the same data directory, and runs on.

Pass criteria (exit status 0, "PASS" on the last line):
- while the database is down, every request gets 503 JSON in the error shape with
  Retry-After, within DB_CONNECT_TIMEOUT (+1 s of slack): no hung worker, no 500;
- at no point a 500, a dropped connection or an answer other than 200/201/503;
- once the database answers again, every request succeeds, with no restart of the service
  (the same gunicorn master throughout);
- every create answered 201 is in the database with the oid it was given, and no create
  answered otherwise is.
Everything the drill started is stopped and its temporary files removed, pass or fail.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

from serverkit import ROOT, PrivateMariaDB, api_token, create_database, gunicorn, log, mysql_env

APP_PORT = int(os.environ.get("DRILL_PORT", "8106"))
DB_PORT = int(os.environ.get("DRILL_DB_PORT", "3307"))
CONNECT_TIMEOUT = int(os.environ.get("DRILL_CONNECT_TIMEOUT", "2"))
CLIENTS = int(os.environ.get("DRILL_CLIENTS", "6"))
HEALTHY_SECONDS = float(os.environ.get("DRILL_HEALTHY_SECONDS", "5"))
DOWN_SECONDS = float(os.environ.get("DRILL_DOWN_SECONDS", "8"))
RECOVERED_SECONDS = float(os.environ.get("DRILL_RECOVERED_SECONDS", "8"))
# Stale persistent connections are health-checked and replaced on a worker's next request;
# give every worker that one request before "recovered" is enforced.
RECOVERY_GRACE_SECONDS = 2.0
NAME_PREFIX = "drill-"


# --- The load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    op: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all (connection refused/reset, timeout)
    body: dict | list | None = None
    retry_after: str | None = None
    content_type: str = ""
    name: str | None = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    token: str
    cids: list[int]
    oids: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, op: str, method: str, path: str, body: dict | None = None) -> Outcome:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", APP_PORT, timeout=CONNECT_TIMEOUT + 30)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            ended = time.monotonic()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return Outcome(
                op,
                started,
                ended,
                response.status,
                parsed,
                response.getheader("Retry-After"),
                response.getheader("Content-Type", ""),
                body.get("opportunity_name") if body else None,
            )
        except OSError as exc:
            name = body.get("opportunity_name") if body else None
            return Outcome(op, started, time.monotonic(), None, name=name, error=repr(exc))
        finally:
            conn.close()

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        for i in itertools.count():
            if self.stop.is_set():
                return
            kind = ("list", "detail", "create")[i % 3]
            if kind == "list":
                outcome = self.request("list", "GET", "/api/opportunities?limit=20&ordering=-created_at")
            elif kind == "detail":
                outcome = self.request("detail", "GET", f"/api/opportunities/{rng.choice(self.oids)}")
            else:
                outcome = self.request(
                    "create",
                    "POST",
                    "/api/opportunities",
                    {
                        "cid": rng.choice(self.cids),
                        "opportunity_name": f"{NAME_PREFIX}{uuid.uuid4().hex}",
                        "product": "Payroll",
                        "status": "Prospecting",
                        "est_monthly_revenue": "1000.00",
                        "expected_close_date": "2025-05-31",
                    },
                )
            with self.lock:
                self.outcomes.append(outcome)
            time.sleep(0.02)


# --- The drill -------------------------------------------------------------------------------


def _is_unavailable_answer(o: Outcome) -> bool:
    return (
        o.status == 503
        and o.content_type.startswith("application/json")
        and isinstance(o.body, dict)
        and o.body.get("type") == "server_error"
        and [e.get("code") for e in o.body.get("errors", [])] == ["database_unavailable"]
        and o.retry_after is not None
        and o.retry_after.isdigit()
    )


def judge(outcomes: list[Outcome], marks: dict[str, float], stored: dict[str, str]) -> list[str]:
    """Every broken rule, as a sentence; an empty list is a pass."""
    problems = []
    down = [o for o in outcomes if o.started >= marks["down"] and o.ended <= marks["restart"]]
    recovered = [o for o in outcomes if o.started >= marks["up"] + RECOVERY_GRACE_SECONDS]
    healthy = [o for o in outcomes if o.ended <= marks["stop"]]
    if not down or not recovered or not healthy:
        problems.append(f"too few requests per phase: {len(healthy)}/{len(down)}/{len(recovered)}")
    for o in healthy + recovered:
        if o.status not in (200, 201):
            problems.append(f"{o.op} while the database was up: {o.status} {o.error or o.body}")
    for o in down:
        if not _is_unavailable_answer(o):
            problems.append(f"{o.op} while the database was down: {o.status} {o.error or o.body}")
        elif o.seconds > CONNECT_TIMEOUT + 1:
            problems.append(f"{o.op} while down took {o.seconds:.2f}s (connect timeout {CONNECT_TIMEOUT}s)")
    for o in outcomes:
        if o.status is None or o.status not in (200, 201, 503):
            problems.append(f"{o.op}: answer {o.status} {o.error or o.body}")
    answered_201 = {
        o.name: o.body.get("oid") for o in outcomes if o.op == "create" and o.status == 201 and o.body
    }
    not_created = {o.name for o in outcomes if o.op == "create" and o.status != 201}
    for name, oid in answered_201.items():
        if stored.get(name) != oid:
            problems.append(f"create {name} answered 201 (oid {oid}) but the database has {stored.get(name)}")
    # A COMMIT the server carried out just as it shut down, whose acknowledgement never
    # reached the client, is stored yet answered 503: no server can tell the client otherwise
    # (clients retry such a create with its Idempotency-Key). Only a create in flight across
    # the stop may end that way; any other stored create that was not answered 201 is a bug.
    in_flight_at_stop = {
        o.name
        for o in outcomes
        if o.op == "create" and o.status == 503 and o.started <= marks["down"] and o.ended >= marks["stop"]
    }
    for name in (not_created & set(stored)) - in_flight_at_stop:
        problems.append(f"create {name} was not answered 201 but is in the database")
    for name in sorted(not_created & set(stored) & in_flight_at_stop):
        log(f"drill: create {name} was in flight at the stop: committed, acknowledgement lost (503)")
    for name in set(stored) - set(answered_201) - not_created:
        problems.append(f"row {name} in the database was never requested")
    return sorted(set(problems))


def report(outcomes: list[Outcome], marks: dict[str, float]) -> None:
    phases = [
        ("healthy", float("-inf"), marks["stop"]),
        ("stopping", marks["stop"], marks["down"]),
        ("down", marks["down"], marks["restart"]),
        ("restarting", marks["restart"], marks["up"]),
        ("recovered", marks["up"], float("inf")),
    ]
    log(f"{'phase':<11} {'requests':>8}  answers                               max seconds")
    for name, start, end in phases:
        chunk = [o for o in outcomes if start <= o.started < end]
        if not chunk:
            continue
        counts: dict[str, int] = {}
        for o in chunk:
            key = f"{o.op}:{o.status or 'no-answer'}"
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
        log(f"{name:<11} {len(chunk):>8}  {summary:<37} {max(o.seconds for o in chunk):.3f}")


def main() -> int:
    db = PrivateMariaDB(DB_PORT)
    db_name = "test_intrasoft_drill"
    env = mysql_env(
        db_name,
        MYSQL_HOST="127.0.0.1",
        MYSQL_PORT=str(DB_PORT),
        MYSQL_USER="drill",
        MYSQL_PASSWORD="",
        DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
    )
    try:
        log(f"drill: private MariaDB in {db.tmp} on 127.0.0.1:{DB_PORT}")
        db.install()
        db.start()
        create_database(env)
        token = api_token(env, "drill-editor", "editor")
        cids = [row[0] for row in db.query(db_name, "SELECT cid FROM customer ORDER BY cid LIMIT 50")]
        oids = [row[0] for row in db.query(db_name, "SELECT oid FROM crm_opportunities ORDER BY oid")]
        log_path = db.tmp / "gunicorn.log"
        with gunicorn(env, APP_PORT, workers=3, log_path=log_path) as server:
            master = server.pid
            load = Load(token=token, cids=cids, oids=oids)
            threads = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            marks: dict[str, float] = {}
            time.sleep(HEALTHY_SECONDS)
            log("drill: stopping the database")
            marks["stop"] = time.monotonic()
            db.stop()
            marks["down"] = time.monotonic()
            time.sleep(DOWN_SECONDS)
            log("drill: starting the database again")
            marks["restart"] = time.monotonic()
            db.start()
            marks["up"] = time.monotonic()
            time.sleep(RECOVERED_SECONDS)
            load.stop.set()
            for thread in threads:
                thread.join(timeout=CONNECT_TIMEOUT + 40)
            same_master = server.poll() is None and server.pid == master
        stored = dict(
            db.query(
                db_name,
                "SELECT opportunity_name, oid FROM crm_opportunities WHERE opportunity_name LIKE %s",
                (NAME_PREFIX + "%",),
            )
        )
        report(load.outcomes, marks)
        problems = judge(load.outcomes, marks, stored)
        if not same_master:
            problems.append("the gunicorn master did not survive the drill")
        created = sum(1 for o in load.outcomes if o.op == "create" and o.status == 201)
        log(
            f"drill: {len(load.outcomes)} requests, {created} creates answered 201, "
            f"{len(stored)} drill rows stored"
        )
        if problems:
            for problem in problems[:50]:
                log(f"FAIL: {problem}")
            if len(problems) > 50:
                log(f"... and {len(problems) - 50} more")
            log("drill: last lines of the gunicorn log:")
            print("\n".join(log_path.read_text(errors="replace").splitlines()[-30:]), flush=True)
            print("FAIL", flush=True)
            return 1
        print("PASS", flush=True)
        return 0
    finally:
        db.cleanup()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
