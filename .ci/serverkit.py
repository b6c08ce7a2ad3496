"""Shared by the fuzz run, the outage drill and the load run: a throwaway database with the
demo data, API tokens, and gunicorn with the production settings on a loopback port.

Nothing here touches the database named by MYSQL_DB: each run uses a database of its own
(a name starting with ``test_intrasoft`` on MySQL, which the project user may create and
drop, or a SQLite file), and removes it afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def base_env(**overrides: str) -> dict[str, str]:
    """Production settings for a server on this machine (plain HTTP on loopback)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        ENV_FILE=str(ROOT / "var" / "no-such.env"),
        DJANGO_SETTINGS_MODULE="intrasoft.settings",
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # TLS ends at the load balancer in production; here the client speaks plain HTTP.
        SECURE_SSL_REDIRECT="false",
        # The runs measure the service, not the rate limiter (which has its own tests).
        THROTTLE_USER="100000000/min",
        THROTTLE_ANON="100000000/min",
        CACHE_URL="",
        DEBUG="false",
    )
    env.update(overrides)
    return env


def mysql_env(db_name: str, **overrides: str) -> dict[str, str]:
    if not db_name.startswith("test_intrasoft"):
        raise ValueError("throwaway databases must be named test_intrasoft*")
    env = base_env(**overrides)
    env.pop("DATABASE_URL", None)
    env.setdefault("MYSQL_HOST", "127.0.0.1")
    env.setdefault("MYSQL_USER", "intrasoft")
    env.setdefault("MYSQL_PASSWORD", "intrasoft")
    env["MYSQL_DB"] = db_name
    return env


def mysql_query(env: dict[str, str], sql: str, *, db: str | None = None) -> list[tuple]:
    import MySQLdb

    conn = MySQLdb.connect(
        host=env["MYSQL_HOST"],
        port=int(env.get("MYSQL_PORT") or 3306),
        user=env["MYSQL_USER"],
        password=env.get("MYSQL_PASSWORD", ""),
        connect_timeout=5,
        **({"db": db} if db else {}),
    )
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        conn.close()


def _mysql_admin(env: dict[str, str], sql: str) -> None:
    mysql_query(env, sql)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_database(env: dict[str, str], *, demo_data: bool = True) -> None:
    """A fresh database: Django's tables, the cache table, the four CRM tables, the demo data."""
    if env.get("MYSQL_DB"):
        name = env["MYSQL_DB"]
        _mysql_admin(env, f"DROP DATABASE IF EXISTS `{name}`")
        _mysql_admin(env, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "createcachetable")
    manage(env, "create_crm_tables")
    if demo_data:
        manage(env, "load_demo_data")


def drop_database(env: dict[str, str]) -> None:
    if env.get("MYSQL_DB"):
        _mysql_admin(env, f"DROP DATABASE IF EXISTS `{env['MYSQL_DB']}`")


def api_token(env: dict[str, str], username: str, role: str, areas: str = "all") -> str:
    # Areas explicitly: a user without an area grant sees nothing (crm/scopes.py).
    out = manage(env, "crm_access", "--user", username, "--role", role, "--areas", areas)
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("Token:"))


def wait_http(url: str, timeout: float = 30.0, expect: int = 200) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
                if response.status == expect:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == expect:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer {expect} within {timeout:.0f}s")


@contextmanager
def gunicorn(env: dict[str, str], port: int, *, workers: int | None = None, log_path: Path | None = None):
    """gunicorn with the repository's config on 127.0.0.1:port; stopped (and waited for) on exit."""
    server_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    if workers:
        server_env["WEB_CONCURRENCY"] = str(workers)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [GUNICORN, "-c", "intrasoft/gunicorn.conf.py", "intrasoft.wsgi"],
        cwd=ROOT,
        env=server_env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if log_path:
            out.close()


def terminate(proc: subprocess.Popen | None, *, timeout: float) -> None:
    """SIGTERM ``proc`` if it runs, and SIGKILL it after ``timeout`` seconds."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- The private database -----------------------------------------------------------------


class PrivateMariaDB:
    """A throwaway MariaDB server: its own data directory, port and socket; no accounts (loopback only)."""

    def __init__(self, port: int, *, extra_args: tuple[str, ...] = (), prefix: str = "intrasoft-drill-"):
        self.port = port
        self.extra_args = list(extra_args)
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        self.datadir = self.tmp / "data"
        self.proc: subprocess.Popen | None = None
        self.as_root = os.geteuid() == 0
        self.user_args = ["--user=mysql"] if self.as_root else []
        if self.as_root:
            # mariadbd drops to the mysql user, which must be able to reach its files.
            shutil.chown(self.tmp, "mysql", "mysql")

    def install(self, attempts: int = 3) -> None:
        # mariadb-install-db now and then exits 1 on a loaded machine with a half-made data
        # directory (seen twice in a row, then not again): start afresh, and say why at the end.
        for attempt in range(1, attempts + 1):
            shutil.rmtree(self.datadir, ignore_errors=True)
            done = subprocess.run(
                [
                    shutil.which("mariadb-install-db") or "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    "--skip-test-db",
                    *self.user_args,
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode == 0:
                return
            if attempt == attempts:
                raise RuntimeError(
                    f"mariadb-install-db failed {attempts} times (exit {done.returncode}):\n"
                    + (done.stdout + done.stderr)[-2000:]
                )
            time.sleep(1)

    def start(self) -> None:
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.proc = subprocess.Popen(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.tmp / 'mysqld.sock'}",
                f"--pid-file={self.tmp / 'mysqld.pid'}",
                f"--log-error={self.tmp / 'error.log'}",
                # A throwaway instance on loopback: no accounts to manage.
                "--skip-grant-tables",
                "--innodb-buffer-pool-size=64M",
                *self.extra_args,
                *self.user_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 60.0) -> None:
        import MySQLdb

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited; see {self.tmp / 'error.log'}")
            try:
                MySQLdb.connect(host="127.0.0.1", port=self.port, user="drill", connect_timeout=1).close()
                return
            except MySQLdb.OperationalError:
                time.sleep(0.2)
        raise TimeoutError(f"private MariaDB on port {self.port} did not start")

    def stop(self) -> None:
        terminate(self.proc, timeout=60)
        self.proc = None

    def query(self, db: str, sql: str, args=()) -> list[tuple]:
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=self.port, user="drill", db=db, connect_timeout=5)
        try:
            cursor = conn.cursor()
            cursor.execute(sql, args)
            return list(cursor.fetchall())
        finally:
            conn.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PrivateRedis:
    """A redis-server of our own on ``port``, keeping nothing on disk (the replica drill, the bench)."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        terminate(self.proc, timeout=20)
        self.proc = None
