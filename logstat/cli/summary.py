"""`logstat summary` and `logstat report`: one command, report shows --top 10 by default.

Counting is the library's (`summary_run`); the views (text, rich, JSON, Markdown, the
Prometheus file) and the exit codes are this command's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logstat.cli.options import (
    ClusterOption,
    DebugOption,
    EndpointOption,
    FormatOption,
    HostOption,
    JsonKeysOption,
    LogFormatOption,
    Logs,
    MethodOption,
    PathOption,
    QuietOption,
    SinceOption,
    SourceOption,
    StateOption,
    StatusOption,
    TimeZoneOption,
    UntilOption,
    VendorOption,
)
from logstat.errors import ExitCode, LogstatError

if TYPE_CHECKING:
    from logstat.report.model import Summary
    from logstat.time_zones import DisplayZone

REPORT = "Report"
OUTPUTS = "Outputs"

SUMMARY_HELP = (
    "Summarise status codes by class and by code, with each code's meaning for its source."
)
REPORT_HELP = """Summary plus drill-down: the same options as summary, with --top 10 by default.

The N most frequent paths, clients, hosts and user agents for each status class,
or for each --status term (`logstat report access.log --status 5xx,499 --top 20`).
"""


def command(default_top: int) -> Callable[..., None]:
    """The summary command, showing `default_top` entries when --top is not given."""

    def summarize(
        logs: Logs,
        format: FormatOption = None,
        log_format: LogFormatOption = None,
        json_keys: JsonKeysOption = None,
        vendor: VendorOption = None,
        endpoint_url: EndpointOption = None,
        cluster: ClusterOption = None,
        since: SinceOption = None,
        until: UntilOption = None,
        status: StatusOption = None,
        path: PathOption = None,
        host: HostOption = None,
        method: MethodOption = None,
        source: SourceOption = None,
        every: Annotated[
            str | None,
            typer.Option(
                "--every",
                help="Count per class and status in time buckets of this size (5m, 1h, 1d; "
                "aligned in UTC).",
                rich_help_panel=REPORT,
            ),
        ] = None,
        top: Annotated[
            int | None,
            typer.Option(
                "--top",
                min=0,
                help="Show the N most frequent paths, clients, hosts and user agents per group "
                "(report: 10 unless given; 0: none).",
                rich_help_panel=REPORT,
                show_default=False,
            ),
        ] = None,
        top_by: Annotated[
            str | None,
            typer.Option(
                "--top-by",
                help="Drill-down groups: class or status (default: the --status terms, else "
                "class).",
                rich_help_panel=REPORT,
            ),
        ] = None,
        top_fields: Annotated[
            list[str] | None,
            typer.Option(
                "--top-fields",
                help="Fields for --top (default path,client,host,agent; also referer, method, "
                "query, protocol).",
                rich_help_panel=REPORT,
            ),
        ] = None,
        by: Annotated[
            str | None,
            typer.Option(
                "--by",
                help="Split the tables by source, host or file (default: by source when "
                "several sources are read).",
                rich_help_panel=REPORT,
            ),
        ] = None,
        compare: Annotated[
            str | None,
            typer.Option(
                "--compare",
                help="Show the last DURATION (1h, 1d; ending at --until, else at the newest "
                "record) and what changed from the DURATION before it.",
                rich_help_panel=REPORT,
                metavar="DURATION",
            ),
        ] = None,
        window: Annotated[
            str | None,
            typer.Option(
                "--window",
                help="With --compare: the length of the windows compared (default: the "
                "--compare DURATION): --compare 1d --window 1h is the last hour against the "
                "same hour yesterday.",
                rich_help_panel=REPORT,
                metavar="DURATION",
            ),
        ] = None,
        fail_if: Annotated[
            list[str] | None,
            typer.Option(
                "--fail-if",
                help="Exit 4 when a rule holds, e.g. '5xx > 2%', '499 > 100', "
                "'upstream 5xx > 1%' (repeatable).",
                rich_help_panel=REPORT,
            ),
        ] = None,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print the summary as JSON.", rich_help_panel=OUTPUTS),
        ] = False,
        markdown: Annotated[
            bool,
            typer.Option(
                "--markdown", help="Print the summary as Markdown.", rich_help_panel=OUTPUTS
            ),
        ] = False,
        prometheus: Annotated[
            Path | None,
            typer.Option(
                "--prometheus",
                help="Also write counters to this file (node_exporter textfile format, "
                "atomically).",
                rich_help_panel=OUTPUTS,
            ),
        ] = None,
        rejects: Annotated[
            Path | None,
            typer.Option(
                "--rejects",
                help="Write every rejected line (file, line, reason, text) to this CSV.",
                rich_help_panel=OUTPUTS,
            ),
        ] = None,
        state: StateOption = None,
        tz: TimeZoneOption = None,
        quiet: QuietOption = False,
        debug: DebugOption = False,
    ) -> None:
        from logstat.cli.messages import judge_alerts
        from logstat.cli.progress import watch
        from logstat.library import (
            display_zone,
            reading_options,
            report_settings,
            request_filters,
            summary_run,
        )
        from logstat.outputs.output_paths import refuse_overwriting_inputs

        if window is not None and compare is None:
            raise LogstatError("--window goes with --compare", ExitCode.USAGE)
        if json_output and markdown:
            raise LogstatError("choose one of --json and --markdown", ExitCode.USAGE)
        if compare is not None:
            from logstat.cli import compare as comparison

            given = {"--since": since, "--markdown": markdown, "--prometheus": prometheus}
            comparison.refuse_alongside({**given, "--rejects": rejects, "--state": state})
            shown = comparison.show(
                list(logs),
                compare,
                json_output,
                display_zone(tz),
                window=window,
                until=until,
                format=format,
                log_format=log_format,
                json_keys=json_keys,
                vendors=vendor or (),
                endpoint_url=endpoint_url,
                status=status or (),
                path=path,
                host=host or (),
                method=method or (),
                source=source or (),
                every=every,
                top=default_top if top is None else top,
                top_by=top_by,
                top_fields=top_fields or (),
                by=by,
                fail_if=fail_if or (),
                tz=tz,
                cluster=cluster,
            )
            judge_alerts(shown.alerts, [])
            return
        read_options = reading_options(format, log_format, vendor or (), json_keys, endpoint_url)
        zone = display_zone(tz)
        settings = report_settings(
            filters=request_filters(
                since, until, status or (), path, host or (), method or (), source or (), zone
            ),
            every=every,
            top=default_top if top is None else top,
            top_by=top_by,
            top_fields=top_fields or (),
            by=by,
            fail_if=fail_if or (),
            prometheus=prometheus is not None,
        )
        refuse_overwriting_inputs(
            logs, {"--rejects": rejects, "--prometheus": prometheus, "--state": state}
        )
        with summary_run(
            logs,
            settings,
            read_options,
            state=state,
            rejects=rejects,
            progress=watch(quiet),
            cluster=cluster,
        ) as run:
            result = run.summary
            if state is None:  # with --state, a run reads only what the last one did not
                from logstat.cli.drilldown import lines_command

                result.lines_command = lines_command(
                    logs,
                    result.filters,
                    format=format,
                    log_format=log_format,
                    json_keys=json_keys,
                    vendors=vendor or (),
                    endpoint_url=endpoint_url,
                )
            if prometheus is not None:
                from logstat.report import prometheus as prometheus_view

                # with --state: counters that add up across runs, kept in the state file
                prometheus_view.write(result, prometheus, run.state_file)
            _print(result, json_output, markdown, zone)
            if run.in_doubt:
                # the lines are read again next time, when the format may have been fixed
                rules = "; --fail-if rules not judged" if result.alerts else ""
                raise LogstatError(run.in_doubt + rules, ExitCode.UNPARSED)
        judge_alerts(result.alerts, run.vanished)

    return summarize


def _print(result: Summary, json_output: bool, markdown: bool, zone: DisplayZone) -> None:
    if json_output:
        sys.stdout.write(result.to_json_text() + "\n")
    elif markdown:
        from logstat.report.markdown import render_markdown

        sys.stdout.write(render_markdown(result, zone))
    elif sys.stdout.isatty():
        from logstat.cli.messages import stdout_console
        from logstat.report.text import render_rich

        render_rich(result, stdout_console(), zone)
    else:
        from logstat.report.text import pipe_width, render_plain

        sys.stdout.write(render_plain(result, zone, pipe_width()))
    sys.stdout.flush()  # a failed write must stop the run before --state is committed


summary = command(default_top=0)
report = command(default_top=10)
