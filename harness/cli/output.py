"""Where the command line writes: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

# Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; logs can be wider.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out = Console(width=None if sys.stdout.isatty() else 160)


def say(message: str) -> None:
    console.print(f"[dim]·[/] {message}", highlight=False)
