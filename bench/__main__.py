"""`python -m bench run|generate|peer ...`: see bench/README.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: python -m bench run [--lines N ...]       time logstat and its peers\n"
            "       python -m bench generate FORMAT LINES PATH [--seed N] [--files N] [--dirty]\n"
            "       python -m bench peer polars-status|polars-alb-status|polars-parse FILE [OUTPUT]"
        )
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        from bench.run import BenchmarkFailure, run

        try:
            run(rest)
        except BenchmarkFailure as failure:
            print(f"BENCHMARK FAILED: {failure}", file=sys.stderr)
            return 1
        return 0
    if command == "generate":
        from bench import generate

        parser = argparse.ArgumentParser(prog="python -m bench generate")
        parser.add_argument("format", choices=sorted(generate.FORMATS))
        parser.add_argument("lines", type=int, help="lines in all (split over --files)")
        parser.add_argument(
            "path", type=Path, help="log file (.gz/.zst compress), or a folder with --files"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--files", type=int, help="write this many small .gz files into PATH")
        parser.add_argument(
            "--dirty", action="store_true", help="one odd line in 500 (generate.DIRTY_KINDS)"
        )
        arguments = parser.parse_args(rest)
        if arguments.files:
            truth = generate.generate_many(
                arguments.path,
                arguments.format,
                arguments.files,
                arguments.lines // arguments.files,
                seed=arguments.seed,
            )
        else:
            truth = generate.generate(
                arguments.path, arguments.format, arguments.lines, arguments.seed, arguments.dirty
            )
        print(f"{truth.lines:,} lines, {truth.decompressed_bytes / 1e6:,.1f} MB decompressed")
        return 0
    if command == "peer":
        from bench.peers import PEERS

        PEERS[rest[0]](*rest[1:])
        return 0
    print(f"unknown command {command!r}; try --help", file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
