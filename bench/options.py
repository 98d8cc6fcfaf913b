"""A benchmark's command line: its module docstring as the help, and for the benchmarks whose options are all
numbers, the options from keyword defaults (`bench_options(__doc__, pods=30, window=45.0)`)."""

from __future__ import annotations

import argparse


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def bench_options(doc: str | None, **defaults: float) -> argparse.Namespace:
    """`--<option> N` for each keyword (underscores become dashes), of its default's type (int or float)."""
    parser = bench_parser(doc)
    for option, default in defaults.items():
        parser.add_argument("--" + option.replace("_", "-"), type=type(default), default=default)
    return parser.parse_args()
