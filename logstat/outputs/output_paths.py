"""Refuse to write an output over an input (or over another output of the same run).

`--rejects a.log`, `--prometheus a.log`, `export a.log -o a.log`: the output is
renamed into place over the log, which is then gone.  Every command that writes
a file calls `refuse_overwriting_inputs` before it opens anything.  Files are
compared by device and inode, following symlinks, so another name for the same
file (a link, `./a.log`, a glob) is caught too.  Only an output that already
exists can be an input, so a run whose outputs are new does not list its inputs
twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from logstat.errors import ExitCode, LogstatError

Identity = tuple[int, int]


def _identity(path: Path) -> Identity | None:
    try:
        status = os.stat(path)  # follows symlinks: a link to the log is the log
    except OSError:
        return None
    return status.st_dev, status.st_ino


STREAMED = {"--output"}  # the outputs `-` means standard output for (export -o -)


def refuse_overwriting_inputs(logs: Iterable[str], outputs: Mapping[str, Path | None]) -> None:
    """Raise a usage error when an output (option name -> path) is one of the inputs
    (paths, globs and directories as given) or the same file as another output."""
    existing: dict[Identity, str] = {}
    for option, path in outputs.items():
        if path is not None and str(path) == "-" and option not in STREAMED:
            raise LogstatError(
                f"{option} writes a file, not standard output (-): name the file",
                ExitCode.USAGE,
            )
        if path is None or str(path) == "-":
            continue
        identity = _identity(path)
        if identity is None:
            continue
        if identity in existing:
            raise LogstatError(
                f"{option} {path} and {existing[identity]} are the same file; "
                "give each output its own file",
                ExitCode.USAGE,
            )
        existing[identity] = f"{option} {path}"
    if not existing:
        return
    from logstat.reading.objects import is_url
    from logstat.reading.sources import expand

    arguments = [log for log in logs if log != "-"]
    local = [argument for argument in arguments if not is_url(argument)]  # objects are no outputs
    for source in expand(local) if local else []:
        if source.path is None:
            continue
        identity = _identity(source.path)
        if identity in existing:
            raise LogstatError(
                f"{existing[identity]} is the input {source.name}: writing it would replace "
                "the log; choose another output file",
                ExitCode.USAGE,
            )


def refuse_dataset_among_inputs(logs: Iterable[str], root: Path | str) -> None:
    """`ingest /var/log/nginx --to /var/log/nginx/ds`: the next run would read the
    dataset's own files as logs.  Refuse a dataset inside an input directory (or, in an
    object store, below an input prefix)."""
    from logstat.reading.objects import is_url

    if isinstance(root, str):
        url = root.rstrip("/") + "/"
        for log in logs:
            prefix = log.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
            if is_url(log) and url.startswith(prefix.rstrip("/") + "/"):
                raise LogstatError(
                    f"--to {root} is below the input {log}: later runs would read the "
                    "dataset as logs; put the dataset elsewhere",
                    ExitCode.USAGE,
                )
        return
    target = root.resolve()
    for log in logs:
        if log == "-" or not os.path.isdir(log):
            continue
        directory = Path(log).resolve()
        if target == directory or directory in target.parents:
            raise LogstatError(
                f"--to {root} is inside the input directory {log}: later runs would read the "
                "dataset as logs; put the dataset elsewhere",
                ExitCode.USAGE,
            )
