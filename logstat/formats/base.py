"""The small interface every log format implements.

A `Format` knows how to recognise its lines (`detect`, on a sample of a file's
first lines) and how to make a `Parser` (formats/parser.py) for one file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.formats import json_keys
from logstat.formats.envelope import Wrapped, unwrap
from logstat.formats.parser import Parser
from logstat.formats.template import Token, compile_template, every_layout
from logstat.formats.template import detect as detect_layouts


@dataclass(frozen=True)
class Detection:
    """A parser chosen for a file, and how sure detection was."""

    parser: Parser
    matched: int
    sampled: int
    covered: int | None = None  # lines read whole, no fields left over (None: all matched)
    guessed: bool = False  # JSON keys read by what their names suggest (formats/json_keys.py)

    @property
    def whole(self) -> int:
        return self.matched if self.covered is None else self.covered

    @property
    def confidence(self) -> str:
        text = f"{self.matched}/{self.sampled} sample lines matched"
        if self.whole < self.matched:
            text += f", {self.matched - self.whole} with fields after the layout"
        return text


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    vendors: tuple[str, ...]  # status tables for this source, most specific first
    layouts: dict[str, str]  # named layouts, for `logstat formats`
    make_parser: Callable[[str | None], Parser]  # layout name or format string -> parser
    detect: Callable[[pl.Series], Detection | None]  # sample lines -> best parser
    produced_by: Callable[[set[str]], pl.Expr] = field(default=lambda columns: pl.lit("unknown"))
    # columns `produced_by` reads: parsed whatever a report needs
    produced_by_reads: frozenset[str] = frozenset()
    # make_parser(None) reads any line alone as the parser of its file did (one fixed
    # layout, nothing kept between lines): what a few rows need is read from their lines
    reads_again: bool = False


@dataclass(frozen=True)
class TemplateSyntax:
    """A server's format-string language (nginx `$var`, Apache `%x`)."""

    tokenize: Callable[[str], list[Token]]
    marker: str  # the character that starts a directive: tells a user's template apart
    layouts: dict[str, str]
    # layouts that read stray lines but never make a file this server's (nginx `common`)
    fallbacks: frozenset[str] = frozenset()
    # how the status is written in this syntax, for the error when a format string has none
    status_directives: str = "a status"
    # JSON lines are recognised by what their keys mean (formats/json_keys.py) too
    json_by_keys: bool = False
    # a transport's header before each line (syslog), cut before the line is read
    envelope: str | None = None
    # the server's own messages among its access lines, counted as comments
    notices: str | None = None


def template_format(
    *,
    name: str,
    title: str,
    vendors: tuple[str, ...],
    syntax: TemplateSyntax,
    produced_by: Callable[[set[str]], pl.Expr],
    produced_by_reads: frozenset[str] = frozenset(),
) -> Format:
    """A Format for a server whose lines are described by a format string."""
    compiled = {
        layout_name: compile_template(name, layout_name, template, syntax.tokenize)
        for layout_name, template in syntax.layouts.items()
    }

    def wrapped(parser: Parser) -> Parser:
        if syntax.envelope is None:
            return parser
        return Wrapped(parser, syntax.envelope, syntax.notices)

    def make_parser(layout_or_template: str | None) -> Parser:
        return wrapped(_make_parser(layout_or_template))

    def _make_parser(layout_or_template: str | None) -> Parser:
        if layout_or_template is None:
            return every_layout(list(compiled.values()))
        key = layout_or_template
        if key in compiled:
            return compiled[key]
        if syntax.marker not in key:
            known = ", ".join(compiled)
            raise LogstatError(
                f"{name}: {key!r} is neither a known layout ({known}) nor a format string "
                f"with {syntax.marker} directives",
                ExitCode.USAGE,
            )
        custom = compile_template(name, "custom", key, syntax.tokenize)
        if "status" not in custom.columns():
            # logstat counts statuses: a format string without one would read every line
            # as a record with no status, which is nonsense, not a count
            raise LogstatError(
                f"--log-format {key!r} has no status field ({syntax.status_directives}); "
                "logstat needs the status to count",
                ExitCode.USAGE,
            )
        return custom

    def detect(sample: pl.Series) -> Detection | None:
        unwrapped = sample if syntax.envelope is None else unwrap(sample, syntax.envelope)
        found = detect_layouts(list(compiled.values()), unwrapped, syntax.fallbacks)
        detection = (
            None if found is None else Detection(wrapped(found[0]), found[1], len(sample), found[2])
        )
        keyed = json_keys.layout_from_sample(name, sample) if syntax.json_by_keys else None
        if keyed is not None:
            matched = keyed.count_matches(sample)
            if matched and (detection is None or matched > detection.matched):
                return Detection(keyed, matched, len(sample), guessed=True)
        return detection

    return Format(
        name=name,
        title=title,
        vendors=vendors,
        layouts=dict(syntax.layouts),
        make_parser=make_parser,
        detect=detect,
        produced_by=produced_by,
        produced_by_reads=produced_by_reads,
    )
