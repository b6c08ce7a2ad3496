#!/usr/bin/env bash
# End-to-end run: a real Django server on a fresh SQLite file loaded with the demo data,
# a CRM editor created here with a random password, and Debian's Chromium driven by
# playwright-core (e2e/app.e2e.mjs). Screenshots go to test-artifacts/; with
# UPDATE_SCREENSHOTS=1 they are also copied to docs/screenshots/ for the README.
#
# Needs: the built app (make frontend), .venv (make install), Chromium (CHROMIUM, default
# /usr/bin/chromium). E2E_PORT picks the server's port (default: a free one).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

PY="${PY:-$ROOT/.venv/bin/python}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ARTIFACTS="$ROOT/test-artifacts"
DB="$ROOT/var/e2e.sqlite3"

[ -f frontend/dist/index.html ] || { echo "e2e: frontend/dist is missing; run 'make frontend' first." >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "e2e: no Chromium at $CHROMIUM (apt-get install chromium)." >&2; exit 1; }
mkdir -p "$ARTIFACTS" var

# Only this run's settings: no developer .env, no MySQL, production-like DEBUG off.
export ENV_FILE=/dev/null DATABASE_URL="sqlite:///$DB" ENVIRONMENT=local DEBUG=false
unset MYSQL_HOST MYSQL_DB MYSQL_USER MYSQL_PASSWORD
rm -f "$DB"
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py create_crm_tables >/dev/null
"$PY" manage.py load_demo_data --history >/dev/null

E2E_USER="e2e-editor"
E2E_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(16))')"
"$PY" manage.py crm_access --user "$E2E_USER" --role editor --areas all --password="$E2E_PASSWORD" >/dev/null
# The expected counts come from the database, never from the API under test.
E2E_COUNTS="$("$PY" manage.py shell -v 0 -c '
import json
from django.db.models import Count
from crm.models import Customer
by_area = dict(Customer.objects.values_list("area").annotate(n=Count("cid")).order_by())
swiss_gmbh = Customer.objects.filter(area="Switzerland", customer_name__icontains="gmbh").count()
# What the opportunity form'"'"'s customer search should offer for "gmbh": the first ten by name.
gmbh = Customer.objects.filter(customer_name__icontains="gmbh")
search = {"term": "gmbh", "matches": gmbh.count(), "first": list(gmbh.order_by("customer_name").values_list("customer_name", flat=True)[:10])}
print(json.dumps({"customers": Customer.objects.count(), "fields": len(Customer._meta.concrete_fields), "by_area": by_area, "swiss_gmbh": swiss_gmbh, "search": search}))
')"
export E2E_USER E2E_PASSWORD E2E_COUNTS

PORT="${E2E_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
export E2E_BASE_URL="http://127.0.0.1:$PORT"
"$PY" manage.py runserver --noreload "127.0.0.1:$PORT" >"$ARTIFACTS/e2e-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if curl -fs -o /dev/null "$E2E_BASE_URL/accounts/login/"; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "e2e: the server did not start:" >&2; cat "$ARTIFACTS/e2e-server.log" >&2; exit 1; }
  sleep 0.2
done

echo "e2e: Django on $E2E_BASE_URL (log: test-artifacts/e2e-server.log), Chromium $CHROMIUM"
(cd frontend && node --test --test-reporter=spec e2e/app.e2e.mjs)

if [ "${UPDATE_SCREENSHOTS:-}" = 1 ]; then
  mkdir -p docs/screenshots
  cp "$ARTIFACTS"/screenshots/*.png docs/screenshots/
  echo "e2e: screenshots copied to docs/screenshots/"
fi
