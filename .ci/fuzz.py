"""schemathesis over every operation of /api/schema/, as an editor of France only, against gunicorn.

    python .ci/fuzz.py            # MySQL when MYSQL_HOST is set, else SQLite

A throwaway database (test_intrasoft_fuzz on MySQL, or a SQLite file under var/) gets the
demo data; gunicorn serves it with the production settings on 127.0.0.1:FUZZ_PORT; then
schemathesis runs every phase (examples, coverage, fuzzing, stateful links) with every
check, at least FUZZ_EXAMPLES examples per operation. Exit status: schemathesis's (0 = no
5xx, no response outside the schema). Bounded by FUZZ_MAX_SECONDS for the whole run.

The token's user is granted FUZZ_AREAS (default France): the demo data's other areas are then
outside its scope, so the run also checks that every answer for them (404s, the 400 naming
``cid``) is one the schema declares. FUZZ_AREAS=all fuzzes with every area.
"""

import os
import subprocess
import sys
from pathlib import Path

from serverkit import ROOT, api_token, base_env, create_database, drop_database, gunicorn, log, mysql_env

PORT = int(os.environ.get("FUZZ_PORT", "8105"))
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "100")
SEED = os.environ.get("FUZZ_SEED", "20241215")
MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "600"))
AREAS = os.environ.get("FUZZ_AREAS", "France")
REPORT_DIR = ROOT / "var" / "fuzz"


def main() -> int:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    if os.environ.get("MYSQL_HOST") and not os.environ.get("DATABASE_URL"):
        env = mysql_env(os.environ.get("FUZZ_MYSQL_DB", "test_intrasoft_fuzz"))
        where = f"MySQL database {env['MYSQL_DB']}"
    else:
        db = REPORT_DIR / "fuzz.sqlite3"
        db.unlink(missing_ok=True)
        env = base_env(DATABASE_URL=f"sqlite:///{db}")
        where = f"SQLite {db.relative_to(ROOT)}"
    log(f"fuzz: preparing {where} with the demo data")
    create_database(env)
    token = api_token(env, "fuzz-editor", "editor", areas=AREAS)
    try:
        with gunicorn(env, PORT, workers=3, log_path=REPORT_DIR / "gunicorn.log"):
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(ROOT / ".ci" / "schemathesis.toml"),
                "run",
                f"http://127.0.0.1:{PORT}/api/schema/",
                "--header",
                f"Authorization: Token {token}",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "2",
                "--request-timeout",
                "15",
                "--generation-database",
                "none",
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                str(REPORT_DIR),
                # Extra arguments go to schemathesis, e.g. --include-path-regex '^/api/forecast'.
                *sys.argv[1:],
            ]
            log(f"fuzz: schemathesis, {EXAMPLES} examples per operation, seed {SEED}, areas {AREAS}")
            try:
                result = subprocess.run(command, cwd=ROOT, timeout=MAX_SECONDS, check=False)
            except subprocess.TimeoutExpired:
                log(f"fuzz: schemathesis did not finish within {MAX_SECONDS}s")
                return 1
            log(f"fuzz: schemathesis exit status {result.returncode}; server log in var/fuzz/gunicorn.log")
            return result.returncode
    finally:
        drop_database(env)


if __name__ == "__main__":
    sys.exit(main())
