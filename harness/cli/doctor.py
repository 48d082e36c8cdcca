"""`doctor`: what this machine has for a sign-off, each problem with its fix."""

from __future__ import annotations

from rich.text import Text

from harness.cli.output import out, plain

_MARK = {"ok": ("ok  ", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "bold red")}


def doctor_command() -> None:
    """Check the set-up: adb binary and version, adb server, attached devices and their state,
    Python and package versions, models built, arm64 runtime, kotlinc, Chromium, free disk.
    Each problem is printed with its fix. Exit code 0 when nothing failed (warnings only), 3 when
    a check failed (the error line names it and its fix)."""
    from harness.doctor import DoctorFailed, failure_message, run_checks

    results = run_checks()
    for check in results:
        mark, style = _MARK[check.status.value]
        out.print(Text(mark, style=style) + Text(f"  {check.name}: ") + plain(check.found, 1000), soft_wrap=True)
        if check.fix:
            out.print(Text("      fix: ", style="dim") + plain(check.fix, 1000), soft_wrap=True)
    counts = {status: sum(1 for c in results if c.status.value == status) for status in _MARK}
    out.print(plain(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed"))
    message = failure_message(results)
    if message:
        raise DoctorFailed(message)
