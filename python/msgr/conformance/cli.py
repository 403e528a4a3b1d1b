"""``python -m msgr conformance``: the suite's commands that need no server. ``list``
prints every case with the rule it checks and its sources (the suite itself runs under
pytest: ``pytest --pyargs msgr.conformance …``); ``compare`` lays several JSON reports
side by side."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_conformance_arguments", "conformance_main"]


def add_conformance_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``conformance`` subcommands."""
    sub = parser.add_subparsers(dest="conformance_command", required=True, metavar="{list,compare}")
    sub.add_parser("list", help="print every case: its id, dialects, feature, the rule it checks and its sources")
    compare = sub.add_parser("compare", help="lay several servers' JSON reports side by side as one matrix")
    compare.add_argument("reports", nargs="+", metavar="REPORT.json", help="JSON reports written with --msgr-report PATH.json")
    compare.add_argument("--name", action="append", default=[], help="a name for each report, in order (default: the file names)")
    compare.add_argument("--html", metavar="PATH", help="also write the comparison as an HTML page")


def conformance_main(args: argparse.Namespace) -> int:
    """Runs a ``conformance`` subcommand; 2 for a usage problem."""
    if args.conformance_command == "list":
        try:
            from .cases import catalogue
            from .conftest import list_lines
        except ImportError as exc:
            print(f"msgr conformance list needs pytest (pip install pytest): {exc}", file=sys.stderr)
            return 2
        print("\n".join(list_lines(catalogue())))
        return 0
    from .compare import compare

    try:
        compared = compare(args.reports, args.name or None)
    except (OSError, ValueError) as exc:
        print(f"msgr conformance compare: {exc}", file=sys.stderr)
        return 2
    print(compared.text())
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(compared.html())
        print(f"written to {args.html}")
    return 0
