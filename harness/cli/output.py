"""Where the command line writes: results on stdout, progress and errors on stderr.

Device strings (serials, props, model IDs, error messages, progress messages) are hostile: an
escape sequence can clear the screen or set the window title, Rich markup can crash the progress
thread or print links. Every one of them goes to the terminal through ONE of these helpers:

- `plain(text)` -> rich Text: for console.print() and table cells. Nothing in it is parsed.
- `safe(text)`  -> str: for a string that Rich parses as markup (a Progress task description,
  an f-string given to console.print): the same cleaning, and markup escaped.

      bar.update(task, description=f"[bold]{safe(who)}[/] {safe(message)}")
      console.print(plain(device.error, style="red"))

Both remove every C0/C1 control character (tab and newline become a space), bidi overrides and
lone surrogates, and cut the text to `limit` characters. `say()` and `print_error()` use them.
Prefer plain() where a Text is accepted: in a markup string Rich still turns ":smile:"-style
emoji codes into emoji (harmless, but not what the device sent).

`--quiet` silences `say()` and the progress bars (results and errors still print); `--verbose`
sends the `harness` loggers' debug lines (each with the milliseconds since start) to stderr
through the same cleaning (see `set_verbosity`)."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from harness.reports.formatting import terminal_text

# Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; logs can be wider.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out = Console(width=None if sys.stdout.isatty() else 160)

DEFAULT_LIMIT = 300
LOGGERS = ("harness", "virtual_device")
_quiet = [False]


def safe(text: object, limit: int = DEFAULT_LIMIT) -> str:
    """`text` (any value) cleaned for the terminal and escaped for Rich markup: safe inside an
    f-string that Rich parses. Never raises."""
    # escape() also doubles a trailing backslash, so it cannot escape the caller's next tag.
    return escape(terminal_text(text, limit))


def plain(text: object, limit: int = DEFAULT_LIMIT, style: str = "") -> Text:
    """`text` (any value) cleaned for the terminal, as a rich Text: no markup is parsed."""
    return Text(terminal_text(text, limit), style=style)


def say(message: object) -> None:
    """A progress line on stderr; `message` is plain text (device strings welcome), not markup.
    Nothing under --quiet."""
    if _quiet[0]:
        return
    console.print(Text("· ", style="dim") + plain(message, 1000), highlight=False)


def print_error(err: BaseException) -> None:
    """`error: <message>` on one line on stderr, the message as plain text (it may carry device
    output)."""
    console.print(Text("error: ", style="bold red") + plain(err, 1000), highlight=False, soft_wrap=True)


def is_quiet() -> bool:
    """--quiet was given: no progress lines or bars."""
    return _quiet[0]


class _ConsoleHandler(logging.Handler):
    """Log records on the stderr console (so they do not tear a progress bar), cleaned like
    every other device string."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            console.print(plain(self.format(record), 2000, style="dim"), highlight=False, soft_wrap=True)
        except Exception:  # logging must never end a run
            self.handleError(record)


def set_verbosity(*, quiet: bool = False, verbose: bool = False) -> None:
    """--quiet: no progress lines or bars, loggers at ERROR; --verbose: the `harness` and
    `virtual_device` loggers at DEBUG, each line `<ms since start> ms <logger>: <message>`."""
    from harness.errors import InputError

    if quiet and verbose:
        raise InputError("--quiet and --verbose: give one of them")
    _quiet[0] = quiet
    if not (quiet or verbose):
        return
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("%(relativeCreated)8.0f ms %(name)s: %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if verbose else logging.ERROR)
        logger.handlers[:] = [handler]
        logger.propagate = False
