"""``msgr docs [NAME]``: the documents that help texts and reports cite, shipped in the
package so that a ``pip install`` has them too."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from typing import Any

__all__ = ["add_docs_arguments", "docs_main", "document", "documents"]


def documents() -> list[str]:
    """The names of the shipped documents (``security``, ``load``, ``protocol/msnp``…)."""
    root = resources.files("msgr") / "docs"
    found: list[str] = []

    def walk(folder: Any, prefix: str) -> None:
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            if item.is_dir():
                walk(item, f"{prefix}{item.name}/")
            elif item.name.endswith(".md"):
                found.append(prefix + item.name.removesuffix(".md"))

    walk(root, "")
    return found


def document(name: str) -> str:
    """The text of a shipped document; ``KeyError`` naming the ones there are."""
    if name not in documents():
        raise KeyError(f"no document {name!r}; there are: {', '.join(documents())}")
    return (resources.files("msgr") / "docs" / f"{name}.md").read_text(encoding="utf-8")


def add_docs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None, help="a document's name (without one: the list)")


def _title(text: str) -> str:
    """A document's first heading, without its ``#``."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def docs_main(args: Any) -> int:
    if args.name is None:
        names = documents()
        width = max(map(len, names))
        for name in names:
            print(f"{name:<{width}}  {_title(document(name))}")
        print("\nmsgr docs NAME prints one.")
        return 0
    try:
        print(document(args.name))
    except KeyError as exc:
        print(f"msgr: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0
