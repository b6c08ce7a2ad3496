"""Benchmark the API against the speed of the database: ``make bench`` runs this.

    python .ci/bench.py                                   # SQLite; MySQL too when MYSQL_HOST is set
    python .ci/bench.py --opportunities 1000000 --customers 100000 --backends mysql
    python .ci/bench.py --sections pages,forecast --repeat 3
    python .ci/bench.py --backends mysql --opportunities 1000000 --buffer-pool 2G --cache redis
    python .ci/bench.py --backends mysql --opportunities 1000000 --generate-only \
        --keep-db test_intrasoft_NAME_1m

For each backend it builds a throwaway database (a SQLite file under var/bench/, or a MySQL
database named ``test_intrasoft...``, dropped afterwards unless ``--keep-db``), creates the
tables, generates the rows in SQL (``benchdata.py``), starts gunicorn with the production
settings (``serverkit.py``, shared with the fuzz, drill and load runs), and runs the sections
(``benchsections.py``) in a child process whose Django settings point at that database.
Every figure is printed with the floor it is compared with and the ratio to it.

``--buffer-pool SIZE`` runs the MySQL backend on a private MariaDB server of this machine
(its own data directory and port, removed afterwards) whose InnoDB buffer pool has that
size, instead of on the server ``MYSQL_HOST`` names: a server's default 128 MiB holds a
third of a million-row opportunity table, where RDS gives the buffer pool three quarters of
the instance's memory, so the figures would measure the disk more than the service.

``--cache redis`` keeps the rate-limit counters and the other shared state in a private
redis-server, as a deployment of more than one server does (docs/operations.md, "Shared
state in Redis"); the default is the database cache that one server runs with, which costs
every request a few statements on the primary, one of them a write.

``--generate-only`` stops after loading the data; with ``--keep-db NAME`` the database stays
for measuring by hand (``MYSQL_DB=NAME python manage.py shell`` ...).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchdata
from serverkit import (
    PYTHON,
    ROOT,
    PrivateMariaDB,
    PrivateRedis,
    base_env,
    create_database,
    drop_database,
    gunicorn,
    log,
    manage,
    mysql_env,
    mysql_query,
)

SECTIONS = ("customers", "pages", "list", "forecast", "requests", "writes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=100_000, help="Rows in crm_opportunities.")
    parser.add_argument(
        "--customers", type=int, default=None, help="Rows in customer (default: opportunities / 10)."
    )
    parser.add_argument(
        "--backends", default="sqlite,mysql", help="sqlite, mysql or both (mysql needs MYSQL_HOST)."
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"Any of {', '.join(SECTIONS)}.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per figure; the fastest counts.")
    parser.add_argument("--creates", type=int, default=100, help="Sequential creates/updates per timed run.")
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=0.2,
        help="A figure of milliseconds is the mean of a batch of calls lasting at least this long.",
    )
    parser.add_argument(
        "--history", action="store_true", help="Also one recorded change per opportunity (crm_changes)."
    )
    parser.add_argument("--generate-only", action="store_true", help="Load the data, run nothing.")
    parser.add_argument(
        "--keep-db", metavar="NAME", help="MySQL: use and keep this database (test_intrasoft*)."
    )
    parser.add_argument(
        "--buffer-pool",
        metavar="SIZE",
        help="MySQL: a private MariaDB server with this InnoDB buffer pool (e.g. 2G), not MYSQL_HOST.",
    )
    parser.add_argument(
        "--cache",
        choices=("database", "redis"),
        default="database",
        help="Where the service's shared cache lives: the database (one server) or a private Redis.",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.customers = args.customers or max(args.opportunities // 10, 1)
    if args.buffer_pool and args.keep_db:
        parser.error("--keep-db keeps a database on MYSQL_HOST's server; the private server is removed")
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def backend_env(
    backend: str, args: argparse.Namespace, private: PrivateMariaDB | None = None
) -> dict[str, str] | None:
    if backend == "sqlite":
        path = ROOT / "var" / "bench" / "bench.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        env = base_env(DATABASE_URL=f"sqlite:///{path}")
        # A MySQL set-up in the environment (CI exports MYSQL_*) must not turn this run into a MySQL one.
        for name in [name for name in env if name.startswith("MYSQL_")]:
            del env[name]
        return env
    if backend == "mysql":
        if private:
            # The private server has no accounts (loopback only): any user name will do.
            return mysql_env(
                "test_intrasoft_bench",
                MYSQL_HOST="127.0.0.1",
                MYSQL_PORT=str(private.port),
                MYSQL_USER="bench",
                MYSQL_PASSWORD="",
            )
        if not os.environ.get("MYSQL_HOST"):
            return None
        # Beside this checkout's test database, so two checkouts on one server never collide.
        name = args.keep_db or (os.environ.get("MYSQL_TEST_DB") or "test_intrasoft") + "_bench"
        return mysql_env(name)
    raise SystemExit(f"unknown backend {backend!r}: use sqlite and/or mysql")


def connect(env: dict[str, str]):
    if env.get("MYSQL_DB"):
        import MySQLdb

        return MySQLdb.connect(
            host=env["MYSQL_HOST"],
            port=int(env.get("MYSQL_PORT") or 3306),
            user=env["MYSQL_USER"],
            password=env.get("MYSQL_PASSWORD", ""),
            db=env["MYSQL_DB"],
            charset="utf8mb4",
        )
    return sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"))


def _kept_rows(env: dict[str, str]) -> tuple[int, int] | None:
    """(customers, opportunities) in a kept MySQL database, or None when it has no tables."""
    try:
        counts = "SELECT (SELECT COUNT(*) FROM customer), (SELECT COUNT(*) FROM crm_opportunities)"
        rows = mysql_query(env, counts, db=env["MYSQL_DB"])
    except Exception:
        return None
    return rows[0]


def run_backend(backend: str, env: dict[str, str], args: argparse.Namespace) -> list[dict]:
    where = env.get("MYSQL_DB") or "a SQLite file"
    kept = _kept_rows(env) if args.keep_db else None
    # A kept database with the rows asked for (the writes section adds a few) is used as it is.
    if kept and kept[0] == args.customers and args.opportunities <= kept[1] < args.opportunities + 10_000:
        log(f"{backend}: reusing {where} ({kept[0]} customers, {kept[1]} opportunities)")
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        manage(env, "createcachetable")
    else:
        log(f"{backend}: creating {where}")
        create_database(env, demo_data=False)
        start = time.perf_counter()
        connection = connect(env)
        try:
            benchdata.generate(
                connection,
                customers=args.customers,
                opportunities=args.opportunities,
                history=args.history,
                log=log,
            )
        finally:
            connection.close()
        seconds = time.perf_counter() - start
        log(f"{backend}: {args.customers} customers, {args.opportunities} opportunities in {seconds:.1f}s")
    if args.generate_only:
        return []
    port = _free_port()
    # In-process figures wait for their answer (gunicorn keeps the production timeouts).
    child_env = {**env, "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "LOG_LEVEL": "ERROR"}
    child_env["DB_READ_TIMEOUT"] = "900"
    with gunicorn(env | {"LOG_LEVEL": "WARNING"}, port, workers=1):
        options = {
            "backend": backend,
            "customers": args.customers,
            "opportunities": args.opportunities,
            "port": port,
            "repeat": args.repeat,
            "creates": args.creates,
            "batch_seconds": args.batch_seconds,
            "sections": args.sections.split(","),
        }
        proc = subprocess.run(
            [PYTHON, __file__, "--child", json.dumps(options)],
            cwd=ROOT,
            env=child_env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        log(line.strip())
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{backend} benchmark failed (exit {proc.returncode})")
    return [dict(r, backend=backend) for r in json.loads(lines[-1])]


def child(options: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intrasoft.settings")
    import django

    django.setup()
    import benchsections

    print(json.dumps(benchsections.run(**json.loads(options))), flush=True)


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    print(
        f"\n{args.opportunities} opportunities, {args.customers} customers; best of {args.repeat} runs"
        f" (a figure of milliseconds: of batches lasting {args.batch_seconds:g} s)"
    )
    if getattr(args, "mysql_server", None):
        print(args.mysql_server)
    print("Cache: Redis (private redis-server)" if args.cache_url else "Cache: the database (django_cache)")
    print(f"{'backend':<8} {'section':<10} {'figure':<58} {'ms':>10} {'floor ms':>10} {'ratio':>8}  note")
    for r in results:
        ms = f"{r['seconds'] * 1000:10.1f}" if r["seconds"] is not None else " " * 10
        floor = f"{r['floor_seconds'] * 1000:10.1f}" if r["floor_seconds"] else " " * 10
        ratio = f"{r['ratio']:7.2f}x" if r["ratio"] else " " * 8
        line = f"{r['backend']:<8} {r['section']:<10} {r['label']:<58} {ms} {floor} {ratio}  {r['note']}"
        print(line.rstrip())


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.child:
        child(args.child)
        return 0
    results = []
    backends = [b for b in args.backends.split(",") if b]
    private = None
    if args.buffer_pool and "mysql" in backends:
        pool = f"--innodb-buffer-pool-size={args.buffer_pool}"
        private = PrivateMariaDB(_free_port(), extra_args=(pool,), prefix="intrasoft-bench-")
        private.install()
        private.start()
        log(f"mysql: a private MariaDB on port {private.port}")
    redis, args.cache_url = None, ""
    try:
        if args.cache == "redis":
            redis = PrivateRedis(_free_port(), Path(tempfile.mkdtemp(prefix="intrasoft-bench-redis-")))
            redis.start()
            args.cache_url = f"redis://127.0.0.1:{redis.port}/0"
            log(f"cache: a private Redis on port {redis.port}")
        return _run(backends, args, private, results)
    finally:
        if redis:
            redis.stop()
            shutil.rmtree(redis.workdir, ignore_errors=True)
        if private:
            private.cleanup()


def _run(backends: list[str], args: argparse.Namespace, private, results: list[dict]) -> int:
    for backend in backends:
        env = backend_env(backend, args, private)
        if env is None:
            log(f"skipping {backend}: no MySQL configured (set MYSQL_HOST etc.)")
            continue
        if args.cache_url:
            env["CACHE_URL"] = args.cache_url
        if env.get("MYSQL_DB"):
            # The figures depend on it: a buffer pool smaller than the table measures the disk.
            version, pool = mysql_query(env, "SELECT VERSION(), @@innodb_buffer_pool_size")[0]
            args.mysql_server = f"MySQL server {version}, InnoDB buffer pool {pool / 2**20:.0f} MiB"
            log(f"mysql: {args.mysql_server}")
        try:
            results += run_backend(backend, env, args)
        finally:
            if args.keep_db and env.get("MYSQL_DB"):
                log(f"{backend}: kept database {env['MYSQL_DB']}")
            else:
                drop_database(env)
    if results:
        print_table(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
