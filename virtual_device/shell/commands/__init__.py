"""Every shell command, grouped by module; importing this package registers them all in
registry.COMMANDS, the table the shell service gives each ShellSession.

A new command: a function `(session, ctx, args) -> exit status` decorated with
@command("name") (or @async_command when it awaits) in the module it belongs to; a new module
also goes in the import list below."""

from virtual_device.shell.commands import activity, basic, files, fstools, logs, packages, props, shellenv, system, text
from virtual_device.shell.registry import COMMANDS

__all__ = [
    "COMMANDS",
    "activity",
    "basic",
    "files",
    "fstools",
    "logs",
    "packages",
    "props",
    "shellenv",
    "system",
    "text",
]
