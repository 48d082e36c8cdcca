"""harness.cli.output: device strings reach the terminal only through safe() (markup strings) or
plain() (rich Text). No escape sequence, control character or Rich markup from a device gets
through, and nothing from a device can crash a print or the progress thread."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.text import Text

from harness.cli import output
from harness.cli.output import plain, safe
from tests.reports.hostile import STRINGS

SGR = re.compile(r"\x1b\[[0-9;]*m")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _console() -> Console:
    return Console(file=io.StringIO(), width=200, force_terminal=True, color_system="truecolor")


def _shown(console: Console) -> str:
    return SGR.sub("", console.file.getvalue())  # type: ignore[attr-defined]


@pytest.mark.parametrize("hostile", STRINGS, ids=range(len(STRINGS)))
def test_safe_inside_markup_prints_the_text_and_nothing_else(hostile: object) -> None:
    console = _console()
    console.print(f"[bold]{safe(hostile)}[/] done", highlight=False)
    shown = _shown(console)
    assert not CONTROL.search(shown.replace("\n", "")), repr(shown[:200])
    assert "\x1b]" not in console.file.getvalue()  # type: ignore[attr-defined]  # no OSC: title, hyperlink
    assert shown.rstrip().endswith("done")


@pytest.mark.parametrize("hostile", STRINGS, ids=range(len(STRINGS)))
def test_plain_is_text_that_rich_does_not_parse(hostile: object) -> None:
    text = plain(hostile, style="red")
    assert isinstance(text, Text) and text.style == "red" and len(text.plain) <= output.DEFAULT_LIMIT
    console = _console()
    console.print(text)
    assert not CONTROL.search(_shown(console).replace("\n", ""))


def test_what_safe_keeps_and_what_it_removes() -> None:
    assert safe("[/bold] [link=https://evil.example]x[/link]") == r"\[/bold] \[link=https://evil.example]x\[/link]"
    assert safe("\x1b[2Jcleared\x1b]0;title\x07") == "[2Jcleared]0;title"
    assert safe("a\tb\r\nc") == "a b c"
    assert safe("\u202eevil") == "evil"
    assert safe("\ud800") == "\ufffd"
    assert safe("x" * 1000, limit=50) == "x" * 26 + "… [974 more characters]"
    assert safe(None) == "" and safe(10**5000).startswith("1e+5000")
    assert safe("trailing \\").endswith("\\\\")  # rich doubles it: it cannot escape the next tag
    # Literal brackets a device sent are shown as sent.
    console = _console()
    console.print(f"[bold]{safe('[/bold] [red]x[/red]')}[/]")
    assert _shown(console).strip() == "[/bold] [red]x[/red]"


def test_the_progress_thread_survives_hostile_descriptions() -> None:
    console = _console()
    with Progress(TextColumn("{task.description}"), console=console, auto_refresh=False) as bar:
        for hostile in STRINGS:
            task = bar.add_task(safe(hostile), total=None)
            bar.update(task, description=f"[bold]{safe(hostile)}[/] {safe(hostile)}")
            bar.refresh()
    assert "\x1b]" not in console.file.getvalue()  # type: ignore[attr-defined]


def test_say_and_print_error_print_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    console = _console()
    monkeypatch.setattr(output, "console", console)
    output.say("pushing [/bold] to \x1b[2Jemulator-5554")
    output.print_error(RuntimeError("device said [link=https://evil.example]\x1b]0;t\x07"))
    lines = _shown(console).splitlines()
    assert lines == ["· pushing [/bold] to [2Jemulator-5554", "error: device said [link=https://evil.example]]0;t"]
