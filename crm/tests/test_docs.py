"""The README and docs/*.md stay true: what they name exists, and their SQL runs.

Names are taken from where the docs show them to be typed: code spans and code blocks for
commands and variables, URLs and ``METHOD /path`` for endpoints, markdown links for files.
Prose is left alone, so ordinary words never count as names.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands
from django.db import connection
from django.urls import Resolver404, URLResolver, get_resolver, resolve

from crm.choices import Product, Status

from .factories import CustomerFactory, OpportunityFactory

ROOT = Path(settings.BASE_DIR)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(
    r"^(?P<fence>```|~~~)(?P<lang>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.DOTALL | re.MULTILINE
)
INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")

# --- Parsing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    path: Path
    text: str
    blocks: tuple[tuple[str, str], ...]  # (language, body) of fenced blocks
    spans: tuple[str, ...]  # inline code spans outside fenced blocks
    prose: str  # the text without fenced blocks

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))

    @property
    def code(self) -> list[str]:
        return [body for _, body in self.blocks] + list(self.spans)


def parse(path: Path) -> Doc:
    text = path.read_text(encoding="utf-8")
    blocks = tuple((m["lang"].strip(), m["body"]) for m in FENCE.finditer(text))
    prose = FENCE.sub("", text)
    spans = tuple(m.group(2).strip() for m in INLINE.finditer(prose))
    return Doc(path, text, blocks, spans, prose)


PARSED = [parse(p) for p in DOCS]


def test_the_docs_the_issue_asks_for_exist():
    """README and the documentation set are there and parse into code blocks and spans."""
    names = {d.name for d in PARSED}
    assert {
        "README.md",
        "docs/architecture.md",
        "docs/workflow.md",
        "docs/shell.md",
        "docs/beekeeper_install.md",
        "docs/beekeeper_view_data.md",
    } <= names
    readme = next(d for d in PARSED if d.name == "README.md")
    assert any("make run" in body for _, body in readme.blocks)
    assert "APP_NAME" in readme.spans


def test_parser_finds_spans_blocks_and_names():
    """The parser separates fenced blocks from spans and pulls each kind of name out of them."""
    sample = (
        "Run `make run` or `python manage.py load_demo_data`, see [a](docs/a.md).\n\n"
        "```bash\nECHO_SQL=true make test PYTEST_ARGS=-x\nexport ENV_FILE=.env\nTOKEN=abc\n"
        'curl http://127.0.0.1:8000/api/customers/{cid}?area=UK -H "X: $TOKEN $MYSQL_HOST"\n```\n'
        "GET /api/opportunities/<oid> and `/healthz`.\n"
    )
    doc = Doc(Path("x.md"), sample, *_split(sample))
    assert doc.spans == ("make run", "python manage.py load_demo_data", "/healthz")
    assert make_targets(doc) == {"run", "test"}
    assert manage_commands(doc) == {"load_demo_data"}
    assert environment_variables(doc) == {"ECHO_SQL", "ENV_FILE"}
    assert variable_references(doc) == {"TOKEN", "MYSQL_HOST"}
    assert make_variables(doc) == {"PYTEST_ARGS"}
    assert endpoint_paths(doc) == {
        "/api/customers/1001",
        "/api/opportunities/" + "0" * 32,
        "/healthz",
    }
    assert relative_links(doc) == {"docs/a.md"}


def _split(text):
    blocks = tuple((m["lang"].strip(), m["body"]) for m in FENCE.finditer(text))
    prose = FENCE.sub("", text)
    return blocks, tuple(m.group(2).strip() for m in INLINE.finditer(prose)), prose


# --- Endpoints -----------------------------------------------------------------------------

# A path's characters; ``<oid>`` counts as a placeholder segment, a bare ``<``/``>`` ends it.
_PATH = r"(?:[^\s\"'`)<>\]]|<[^>\s/]*>)*"
URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?(/" + _PATH + ")")
METHOD_PATH = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(/" + _PATH + ")")
# Paths of this service named on their own, in code or prose.
BARE_PATH = re.compile(r"(?<![\w./:-])(/(?:api|admin|accounts|healthz|readyz)(?:[/?{<]" + _PATH + ")?)")
PLACEHOLDER = re.compile(r"\{([^}/]*)\}|<([^>/]*)>|\$\{?([A-Za-z_]+)\}?")


def _concrete(path: str) -> str | None:
    path = path.split("#")[0].split("?")[0].rstrip(".,:;")
    if "..." in path or "…" in path:
        return None

    def sample(match):
        name = next(g for g in match.groups() if g is not None).lower()
        return "0" * 32 if "oid" in name else "1001"

    return PLACEHOLDER.sub(sample, path)


def endpoint_paths(doc: Doc) -> set[str]:
    found = set()
    for pattern in (URL, METHOD_PATH, BARE_PATH):
        for match in pattern.finditer(doc.text):
            path = _concrete(match.group(1))
            if path:
                found.add(path)
    return found


def _mount_points() -> set[str]:
    """Prefixes under which the root URLconf includes other URLconfs ("/api/", "/accounts/")."""
    return {"/" + str(p.pattern) for p in get_resolver().url_patterns if isinstance(p, URLResolver)}


def test_every_endpoint_named_in_the_docs_resolves():
    """Each path a doc names (URLs, `GET /path`, /api/… paths) is routed by the URLconf."""
    mounts = _mount_points()
    assert {"/api/", "/accounts/", "/admin/"} <= mounts
    missing = []
    named = set()
    for doc in PARSED:
        for path in endpoint_paths(doc):
            named.add(path)
            if path.rstrip("/") + "/" in mounts:
                continue
            try:
                resolve(path)
            except Resolver404:
                missing.append(f"{doc.name}: {path}")
    assert {"/admin/", "/api/docs/"} <= named
    assert missing == []


# --- Environment variables -----------------------------------------------------------------

ASSIGNMENT = re.compile(r"(?:^|(?<=[\s;&|(]))(export\s+)?([A-Z][A-Z0-9_]*)=(\S*)")
REFERENCE = re.compile(r"\$(?:env:)?\{?([A-Z][A-Z0-9_]*)")
ALL_CAPS = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")
# Variables read by the tooling rather than by the application, and where each is read.
TOOL_VARIABLES = {
    "CI": "Makefile",
    "PYTEST_ARGS": "Makefile",
    "BENCH_ARGS": "Makefile",
    "HOST": "Makefile",
    "PORT": "Makefile",
    "PYTHON": "Makefile",
    "DJANGO_SETTINGS_MODULE": "pyproject.toml",
    # The front end's dev server and browser run.
    "DJANGO_PORT": "frontend/vite.config.ts",
    "VITE_PORT": "frontend/vite.config.ts",
    "CHROMIUM": "frontend/e2e/run.sh",
    "UPDATE_SCREENSHOTS": "frontend/e2e/run.sh",
}


def _shell_assignments(doc: Doc):
    """(name, kind) for each NAME=value in code: "env" (exported or a command's prefix),
    "make" (an argument of make), "local" (a shell variable on a line of its own)."""
    for code in doc.code:
        for line in code.splitlines():
            line = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
            for match in ASSIGNMENT.finditer(line):
                before = line[: match.start(2)]
                exported, name, rest = match.group(1), match.group(2), line[match.end() :].strip()
                if re.search(r"(^|\s)make(\s|$)", before):
                    yield name, "make"
                elif exported or (rest and not before.strip()):
                    yield name, "env"
                elif not before.strip():
                    yield name, "local"


def _table_variable_cells(doc: Doc) -> set[str]:
    """Code spans in the columns of a markdown table headed "... variable ..."."""
    names = set()
    columns: list[int] = []
    for line in doc.prose.splitlines():
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not columns and not set("".join(cells)) <= set("-: "):
            if any("variable" in c.lower() for c in cells):
                columns = [i for i, c in enumerate(cells) if "variable" in c.lower()]
            else:
                columns = [-1]
            continue
        for i in columns:
            if 0 <= i < len(cells):
                names |= {m.group(2) for m in INLINE.finditer(cells[i]) if ALL_CAPS.match(m.group(2))}
    return names


def environment_variables(doc: Doc) -> set[str]:
    """Variables the docs tell people to set: exported, prefixed to a command, or listed in a
    table column headed "variable"."""
    names = {name for name, kind in _shell_assignments(doc) if kind == "env"}
    return (names | _table_variable_cells(doc)) - set(TOOL_VARIABLES)


def variable_references(doc: Doc) -> set[str]:
    """``$NAME`` in code: an environment variable, or a shell variable the reader sets
    (``$TOKEN``); the test tells them apart by whether the project knows the name."""
    return {n for code in doc.code for n in REFERENCE.findall(code)} - set(TOOL_VARIABLES)


def make_variables(doc: Doc) -> set[str]:
    return {name for name, kind in _shell_assignments(doc) if kind == "make"}


def _env_example_names() -> set[str]:
    """Variables .env.example sets, or shows commented out (``# NAME=...``)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def _settings_reads() -> set[str]:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "intrasoft").glob("*.py"))
    return set(
        re.findall(r"(?:env(?:\.\w+)?\(|environ(?:\.get)?\(|environ\[)\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source)
    )


def test_every_environment_variable_in_the_docs_is_in_env_example_and_settings():
    """A variable the docs tell people to set is listed in .env.example and read by the settings."""
    example, reads = _env_example_names(), _settings_reads()
    problems, named = [], set()
    for doc in PARSED:
        known = example | reads
        names = environment_variables(doc)
        # Named in passing (`MYSQL_HOST` in a sentence, `$MYSQL_HOST` in a command): counts
        # when the project knows the name, so that it must then be known in both places.
        names |= {s for s in doc.spans if ALL_CAPS.match(s) and s in known}
        names |= variable_references(doc) & known
        named |= names
        for name in sorted(names):
            if name not in example:
                problems.append(f"{doc.name}: {name} is not in .env.example")
            if name not in reads:
                problems.append(f"{doc.name}: {name} is not read by the settings")
    assert {"APP_NAME", "MYSQL_HOST", "ENV_FILE", "DATABASE_URL"} <= named
    assert problems == []


def test_tool_variables_in_the_docs_are_read_by_the_tooling():
    """Variables for make, pytest and the front end's tools are read where the table above says."""
    problems = []
    for doc in PARSED:
        assigned = {name for name, _ in _shell_assignments(doc)}
        referenced = {n for code in doc.code for n in REFERENCE.findall(code)}
        for name in sorted(make_variables(doc) | ((assigned | referenced) & set(TOOL_VARIABLES))):
            where = ROOT / TOOL_VARIABLES.get(name, "Makefile")
            if not where.exists() or not re.search(rf"\b{name}\b", where.read_text(encoding="utf-8")):
                problems.append(f"{doc.name}: {name} is not read in {TOOL_VARIABLES.get(name, 'Makefile')}")
    assert problems == []


# --- Commands ------------------------------------------------------------------------------

MANAGE = re.compile(r"manage\.py\s+([a-z][a-z0-9_]*)")
MAKE = re.compile(r"(?:^|(?<=[\s;&|(]))make((?:\s+-\S+|\s+[A-Z_]+=\S+)*)\s+([a-z][a-z0-9_-]*)", re.MULTILINE)


def manage_commands(doc: Doc) -> set[str]:
    return {m.group(1) for code in doc.code for m in MANAGE.finditer(code)}


def make_targets(doc: Doc) -> set[str]:
    return {m.group(2) for code in doc.code for m in MAKE.finditer(code)}


def _makefile_targets() -> set[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([a-zA-Z][\w. -]*?)\s*:(?!=)", line)
        if match:
            targets |= set(match.group(1).split())
    return targets


def test_every_manage_py_command_in_the_docs_exists():
    """Each `manage.py <command>` shown in the docs is a command Django finds."""
    commands = get_commands()
    named = {(doc.name, c) for doc in PARSED for c in manage_commands(doc)}
    assert {c for _, c in named} >= {"shell", "load_demo_data", "migrate"}
    assert [f"{d}: manage.py {c}" for d, c in sorted(named) if c not in commands] == []


def test_every_make_target_in_the_docs_exists():
    """Each `make <target>` shown in the docs is a target of the Makefile."""
    targets = _makefile_targets()
    named = {(doc.name, t) for doc in PARSED for t in make_targets(doc)}
    assert {t for _, t in named} >= {"run", "test", "lint"}
    assert [f"{d}: make {t}" for d, t in sorted(named) if t not in targets] == []


# --- Links ---------------------------------------------------------------------------------


def relative_links(doc: Doc) -> set[str]:
    return {
        target.split("#")[0]
        for target in LINK.findall(doc.prose)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    }


def test_every_relative_link_points_to_a_file():
    """Links between the docs (and to schema.sql) point at files that exist."""
    broken = [
        f"{doc.name}: {target}"
        for doc in PARSED
        for target in relative_links(doc)
        if not (doc.path.parent / target).exists()
    ]
    assert broken == []


# --- SQL in beekeeper_view_data.md ---------------------------------------------------------

DOC_OID = "5b0d2c61f1d04c7c9a0f3e8e2b7d4a19"


def _sql_statements() -> list[str]:
    doc = next(d for d in PARSED if d.name == "docs/beekeeper_view_data.md")
    statements = []
    for lang, body in doc.blocks:
        if lang != "sql":
            continue
        without_comments = re.sub(r"--[^\n]*", "", body)
        statements += [s.strip() for s in without_comments.split(";") if s.strip()]
    return statements


@pytest.mark.django_db
def test_beekeeper_sql_examples_run_and_find_what_was_written():
    """Every SQL example runs on the test database; the look-ups find the rows they describe."""
    # given: the customer and the oid the examples use, plus deals in two areas
    customer = CustomerFactory(cid=1001, customer_name="Atelier Lumière", area="France")
    other = CustomerFactory(cid=1002, area="UK")
    written = OpportunityFactory(
        oid=DOC_OID,
        customer=customer,
        product=Product.PAYROLL,
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("1234.50"),
    )
    OpportunityFactory(customer=other, status=Status.NEGOTIATION, est_monthly_revenue=Decimal("100.00"))
    OpportunityFactory(customer=other, status=Status.CLOSED_WON, est_monthly_revenue=Decimal("999.00"))
    # a row written by another tool, contradicting its closed status
    OpportunityFactory(customer=other, status=Status.CLOSED_LOST, probability=30, forecast_category="Commit")

    # when
    results = []
    with connection.cursor() as cursor:
        for statement in _sql_statements():
            cursor.execute(statement)
            results.append((statement, cursor.fetchall()))

    # then
    assert len(results) >= 6
    by_oid = next(rows for sql, rows in results if f"o.oid = '{DOC_OID}'" in sql)
    # SQLite hands DECIMAL columns back as floats, MySQL as Decimal.
    assert [(*row[:7], Decimal(str(row[7]))) for row in by_oid] == [
        (
            DOC_OID,
            1001,
            "Atelier Lumière",
            "France",
            written.opportunity_name,
            "Payroll",
            "Proposal",
            Decimal("1234.50"),
        )
    ]
    contradicting = next(rows for sql, rows in results if "status = 'Closed Won'" in sql)
    assert [(row[1], row[2], row[3]) for row in contradicting] == [("Closed Lost", 30, "Commit")]
    pipeline = next(rows for sql, rows in results if "GROUP BY c.area" in sql)
    assert [(area, n, Decimal(str(total))) for area, n, total, _ in pipeline] == [
        ("France", 1, Decimal("1234.50")),
        ("UK", 1, Decimal("100.00")),
    ]
    orphans = next(rows for sql, rows in results if "LEFT JOIN customer" in sql)
    assert list(orphans) == []


def test_beekeeper_sql_examples_only_read():
    """The SQL people are told to paste never writes."""
    statements = _sql_statements()
    assert statements
    assert all(re.match(r"^SELECT\b", s, re.IGNORECASE) for s in statements)
