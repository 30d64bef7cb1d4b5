"""The documentation runs: every command shown in README.md and docs/*.md, every link.

As sqlite-utils tests its docs, each page's code blocks are run in page order in a
temporary directory of their own (a dashboard of the dataset an `ingest` above made),
holding the files the examples name: `access.log` is the bundled sample, paths
under `/var/` are made inside the temporary directory, and /var/lib/logstat/dataset
already holds the quiet log of /var/log/nginx/. What runs:

* ```sh blocks: each line is a shell command, run with bash; `logstat` is this
  checkout's code. It must exit 0, or N when its comment says `exits N`.
* ``` blocks whose first line starts with `$ `: the command runs and its output must
  be the rest of the block (under TZ=UTC, as shown).
* ```cron lines (the five schedule fields dropped, `\\%` read as `%`) and the
  `ExecStart=`/`ExecStartPost=` lines of ```ini unit files (`%%` read as `%`):
  they must exit 0 on the quiet log under /var/log/nginx/.
* ```python blocks: run with this Python; they must not raise.

A command that needs what a test cannot have (a program logstat does not ship, the
network) says `(not tested: REASON)` in its comment. Such commands are counted
against NOT_TESTED, so the list cannot grow without this file changing. The two
install commands at the top of README.md are what `.ci/run` runs in fresh virtual
environments; the test checks that they are still there, word for word. A command
that pipes into a program logstat does not ship (jq, zcat) skips when the program is
missing, except in CI (`CI` set), where it fails.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "nginx-access.log"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Commands marked `(not tested: ...)`, by page. Grows only by editing this file.
NOT_TESTED = {
    "README.md": 3,  # buckets; the live view (tests/test_follow_tmux.py runs it)
    "docs/cluster.md": 3,  # an install and a cluster (tests/test_dask_engine.py runs one)
    "docs/objects.md": 6,  # an install and buckets (tests/test_object_storage.py reads one)
    "docs/performance.md": 1,  # the benchmark installs GoAccess and runs for minutes
    "docs/reports.md": 2,  # | mail; the live view (tests/test_follow_tmux.py runs it)
    "docs/schema.md": 1,  # | duckdb
}

# The README's first two commands, which .ci/run runs as a new user would.
INSTALL_COMMANDS = [
    "pip install . && logstat samples/nginx-access.log",
    "pip install -e '.[test]' && python3 -m pytest",
]

# Fenced block languages, and whether their commands run.
RUN_LANGUAGES = {"sh", "cron", "ini", "python"}
# output, grammar, a query for DuckDB's own shell, a configuration file (parsed below)
SHOWN_LANGUAGES = {"", "sql", "yaml"}
TIMEOUT_SECONDS = 120
# Programs the examples pipe into, beside logstat: missing ones skip those commands,
# except in CI (`CI` set), where they fail.
OTHER_PROGRAMS = ("jq", "zcat")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str


@dataclass(frozen=True)
class Command:
    block: Block
    text: str
    expected_exit: int
    expected_output: str | None = None
    runner: str = "bash"


def relative(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})\s*(\S*)", lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.groups()
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        assert end < len(lines), f"{relative(page)}:{index + 1}: a code block is never closed"
        yield Block(page, index + 1, language, "\n".join(lines[index + 1 : end]))
        index = end + 1


def split_comment(line: str) -> tuple[str, str]:
    """A shell line and its trailing comment (a `#` after white space, outside quotes)."""
    quote = ""
    for position, character in enumerate(line):
        if quote:
            quote = "" if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip(), line[position + 1 :].strip()
    return line.rstrip(), ""


def not_tested(comment: str) -> bool:
    return "(not tested:" in comment


def commands(block: Block) -> Iterator[Command | None]:
    """The block's commands in order; None for a command marked not tested."""
    if block.language == "sh":
        for line in block.text.split("\n"):
            command, comment = split_comment(line)
            if not command:
                continue
            if not_tested(comment):
                yield None
                continue
            exits = re.search(r"\bexits (\d+)\b", comment)
            yield Command(block, command, int(exits.group(1)) if exits else 0)
    elif block.language == "" and block.text.startswith("$ "):
        first, _, output = block.text.partition("\n")
        yield Command(block, first[2:], 0, expected_output=output + "\n")
    elif block.language == "cron":
        for line in block.text.split("\n"):
            if line.strip() and not line.lstrip().startswith("#"):
                command, comment = split_comment(line.split(None, 5)[5])
                if not_tested(comment):
                    yield None
                    continue
                yield Command(block, command.replace("\\%", "%"), 0)
    elif block.language == "ini":
        for line in block.text.split("\n"):
            key, _, value = line.partition("=")
            if key in ("ExecStart", "ExecStartPost"):
                command = value.replace("%%", "%").replace("/usr/local/bin/logstat", "logstat")
                yield Command(block, command, 0)
    elif block.language == "python":
        yield Command(block, block.text, 0, runner="python")


# --- the sandbox ---------------------------------------------------------------------------

QUIET_LOG_NOTE = "the sample without its 5xx lines: a night no alert trips on"

APP_LOG = (  # nginx: $remote_addr [$time_local] "$request" $status $upstream_status $request_time
    '10.0.0.1 [20/Nov/2026:22:00:05 +0000] "GET /api/items HTTP/1.1" 200 200 0.012\n'
    '10.0.0.2 [20/Nov/2026:22:00:06 +0000] "POST /api/orders HTTP/1.1" 502 502 0.250\n'
)
HTTPD_LOG = (  # Apache: %h %l %u %t "%r" %>s %b %D
    '10.0.0.1 - - [20/Nov/2026:22:00:05 +0000] "GET / HTTP/1.1" 200 512 1830\n'
    '10.0.0.2 - - [20/Nov/2026:22:00:06 +0000] "GET /missing HTTP/1.1" 404 - 220\n'
)
APP_JSON_LOG = (  # an application's JSON lines, keys named with --json-keys
    '{"ts": "2026-11-20T22:00:05Z", "code": 200, "p": "/health"}\n'
    '{"ts": "2026-11-20T22:00:06Z", "code": 503, "p": "/api/items"}\n'
)


def quiet_lines() -> str:
    return "".join(
        line
        for line in SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
        if not re.search(r'" 5\d\d ', line)
    )


def write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def make_sandbox(root: Path, dataset: Path | None = None) -> None:
    sample = SAMPLE.read_bytes()
    alb = next((REPO / "fixtures" / "alb").glob("*.log.gz"))
    write(root / "samples" / "nginx-access.log", sample)
    write(root / "access.log", sample)
    write(root / "access.log.gz", gzip.compress(sample))
    write(root / "old" / "access.log.2.gz", gzip.compress(sample[: len(sample) // 2]))
    write(root / "app.log", APP_LOG)
    write(root / "httpd.log", HTTPD_LOG)
    write(root / "app.jsonl", APP_JSON_LOG)
    write(root / "web" / "access.log", sample)
    write(root / "lb" / alb.name, alb.read_bytes())
    quiet = quiet_lines()
    write(root / "var" / "log" / "nginx" / "access.log", quiet)
    write(root / "var" / "log" / "nginx" / "access.log.1", quiet[: len(quiet) // 3])
    if dataset is not None:
        shutil.copytree(dataset, root / "var" / "lib" / "logstat" / "dataset")
    for directory in ("var/lib/logstat", "var/lib/node_exporter/textfile", "var/www/html/logstat"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    # `logstat` on PATH is this checkout's code, whatever is installed
    program = root / "bin" / "logstat"
    write(program, f'#!/bin/sh\nexec "{sys.executable}" -m logstat "$@"\n')
    program.chmod(0o755)


def inside(command: str, root: Path) -> str:
    """Absolute paths under /var/ are made inside the sandbox."""
    return re.sub(r"(?<![\w./-])/var/", f"{root}/var/", command)


def run(command: Command, root: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
    }
    environment.pop("LOGSTAT_TZ", None)
    if command.expected_output is not None:
        environment["TZ"] = "UTC"
    text = inside(command.text, root)
    argv = [sys.executable, "-c", text] if command.runner == "python" else ["bash", "-c", text]
    return subprocess.run(
        argv,
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset for the pages that read one without making it first."""
    root = tmp_path_factory.mktemp("docs-dataset")
    make_sandbox(root)
    ingest = Command(
        Block(REPO, 0, "sh", ""), "logstat ingest /var/log/nginx/access.log --to made -q", 0
    )
    result = run(ingest, root)
    assert result.returncode == 0, result.stderr
    return root / "made"


@pytest.mark.parametrize("page", PAGES, ids=relative)
def test_every_command_on_the_page_runs(page: Path, tmp_path: Path, dataset: Path) -> None:
    make_sandbox(tmp_path, dataset)
    skipped = 0
    missing: list[str] = []
    for block in blocks(page):
        for command in commands(block):
            if command is None:
                skipped += 1
                continue
            if command.text in INSTALL_COMMANDS:
                continue
            where = f"{relative(page)}:{block.line}: {command.text}"
            absent = [name for name in OTHER_PROGRAMS if uses(command, name) and not which(name)]
            if absent:
                missing.append(f"{where} (needs {', '.join(absent)})")
                continue
            result = run(command, tmp_path)
            assert result.returncode == command.expected_exit, (
                f"{where}\nexit {result.returncode}, expected {command.expected_exit}\n"
                f"{result.stderr[-2000:]}"
            )
            assert "Traceback" not in result.stderr, f"{where}\n{result.stderr[-2000:]}"
            if command.expected_output is not None:
                assert result.stdout == command.expected_output, where
    assert skipped == NOT_TESTED.get(relative(page), 0), (
        f"{relative(page)} has {skipped} commands marked `(not tested: ...)`; "
        "NOT_TESTED says otherwise: test the new command, or count it here on purpose"
    )
    if missing:
        message = "not run, a program is missing:\n" + "\n".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def uses(command: Command, program: str) -> bool:
    return re.search(rf"(^|[|;&(]\s*){re.escape(program)}\b", command.text) is not None


def which(program: str) -> bool:
    return shutil.which(program) is not None


def test_every_page_is_known_to_the_count_of_untested_commands() -> None:
    assert set(NOT_TESTED) <= {relative(page) for page in PAGES}


def test_every_logstat_command_shown_is_in_a_block_that_runs() -> None:
    for page in PAGES:
        for block in blocks(page):
            where = f"{relative(page)}:{block.line}"
            assert block.language in RUN_LANGUAGES | SHOWN_LANGUAGES, (
                f"{where}: a ```{block.language} block: say in tests/test_docs.py whether it runs"
            )
            runs = block.language in RUN_LANGUAGES or block.text.startswith("$ ")
            shows_logstat = re.search(r"(^|\|\s*)logstat\s", block.text, re.MULTILINE)
            assert runs or not shows_logstat, (
                f"{where}: a logstat command in a block that never runs"
            )


def test_every_configuration_file_shown_parses() -> None:
    yaml = pytest.importorskip("yaml")  # Dask's own dependency
    shown = [block for page in PAGES for block in blocks(page) if block.language == "yaml"]
    for block in shown:
        assert isinstance(yaml.safe_load(block.text), dict), block.text


def test_the_readme_starts_with_the_two_commands_ci_runs() -> None:
    shell_blocks = [block for block in blocks(REPO / "README.md") if block.language == "sh"]
    assert [block.text for block in shell_blocks[:2]] == INSTALL_COMMANDS
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    steps = (
        "install -q .",
        '/logstat" samples/nginx-access.log',
        "install -q -e '.[test]'",
        "python3 -m pytest",
    )
    for step in steps:
        assert step in ci, f".ci/run no longer runs `{step}` of README.md's first commands"


# --- links ---------------------------------------------------------------------------------


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").split("\n"):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"^#{1,6}\s+(.*)", line)):
            found.add(anchor(heading.group(1)))
    return found


def links(page: Path) -> Iterator[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    for match in re.finditer(r"\]\(([^)\s]+)\)", text):
        yield match.group(1)


@pytest.mark.parametrize("page", PAGES, ids=relative)
def test_relative_links_resolve(page: Path) -> None:
    for link in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{relative(page)}: {link}: no such file"
        if fragment:
            assert target.suffix == ".md", (
                f"{relative(page)}: {link}: an anchor in a non-Markdown file"
            )
            assert fragment in anchors(target), f"{relative(page)}: {link}: no such heading"


def test_the_anchor_rule_is_githubs() -> None:
    assert (
        anchor("Read only the new lines: `--state FILE`") == "read-only-the-new-lines---state-file"
    )
    assert anchor("A Parquet dataset: `logstat ingest`") == "a-parquet-dataset-logstat-ingest"


def test_the_docs_test_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\nlogstat no-such-file.log\nlogstat access.log   # exits 4\n```\n", encoding="utf-8"
    )
    make_sandbox(tmp_path)
    found = [command for block in blocks(page) for command in commands(block)]
    assert [command.expected_exit for command in found if command] == [0, 4]
    assert [run(command, tmp_path).returncode for command in found if command] == [1, 0]


def test_the_layout_names_every_module() -> None:
    """docs/development.md's layout lists each module and package of logstat/."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    layout = text[text.index("## Layout") :]
    layout = layout[: layout.index("\n## ")]
    for entry in sorted((REPO / "logstat").iterdir()):
        if entry.name.startswith(("_", ".")) or entry.suffix not in (".py", ""):
            continue
        if entry.is_dir() and not (entry / "__init__.py").exists():
            continue
        name = f"logstat/{entry.name}/" if entry.is_dir() else f"logstat/{entry.stem}."
        assert name in layout, f"docs/development.md's layout does not name {name}"


def table_rows(page: str, heading: str) -> list[list[str]]:
    """The cells of the first table under `heading` in docs/`page`."""
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    rows = []
    for line in section.split("\n"):
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # below the header and its rule


def test_the_schema_table_lists_the_canonical_columns_in_order() -> None:
    from logstat.schema import ANNOTATIONS, COLUMNS

    shown = [
        name.strip().strip("`")
        for row in table_rows("schema.md", "## The canonical schema")
        for name in row[0].split(",")
    ]
    assert shown == [*COLUMNS, *ANNOTATIONS]


def test_the_exit_code_table_lists_every_exit_code() -> None:
    from logstat.errors import ExitCode

    shown = [int(row[0]) for row in table_rows("guarantees.md", "## Exit codes")]
    assert shown == sorted(code.value for code in ExitCode)
