"""Gunicorn settings for production: `make serve`, or `gunicorn -c intrasoft/gunicorn.conf.py intrasoft.wsgi`.

Every value can be overridden by an environment variable (named next to it) without editing
this file; gunicorn's own GUNICORN_CMD_ARGS also works.
"""

import multiprocessing
import os

# Behind a load balancer bind to 0.0.0.0 (GUNICORN_BIND); locally stay on loopback.
_local = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
bind = os.environ.get("GUNICORN_BIND", _local)

# Requests spend most of their time waiting on MySQL, so more processes than cores pay off;
# 2 x cores + 1 is gunicorn's own rule of thumb. Each worker holds its own DB connection.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# A request may wait DB_CONNECT_TIMEOUT for a connection and DB_READ_TIMEOUT for a query
# (both answered 503 by the app); the worker timeout sits above both, so gunicorn only kills
# a worker that is truly stuck, never one that is about to answer.
_db_wait = int(os.environ.get("DB_CONNECT_TIMEOUT", "5")) + int(os.environ.get("DB_READ_TIMEOUT", "30"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", str(_db_wait + 10)))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# A request line up to gunicorn's largest bound (8190 bytes, default 4094), so a long query
# string of repeated or oversized parameters reaches the API and gets its 400 naming the
# parameter rather than gunicorn's bare 414; load balancers allow longer lines still.
limit_request_line = 8190
# Longer than a typical load balancer's idle timeout is wrong; shorter wastes handshakes.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Recycle workers now and then so a slow leak can never grow without bound; the jitter keeps
# them from all restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10

# Heartbeat files in memory: a slow disk must not make healthy workers look dead.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's documented choice; the files are its own
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# Several instances may share a host (tests, drills): no control socket shared through $HOME.
control_socket_disable = True

# Access log to stdout, one line per request, with the request id the app sets on every
# response (X-Request-ID) so an access line leads to the app's own log lines, and the
# duration in milliseconds. The error log (gunicorn's own messages) goes to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s user_agent="%(a)s"'
# Only the load balancer may tell us the client's scheme and address (X-Forwarded-*).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
