"""Where shell commands register: the table the shell service hands to every ShellSession,
the decorators that fill it, and the helpers every command module shares."""

from __future__ import annotations

from virtual_device.shell.interpreter import CommandTable, Ctx

COMMANDS = CommandTable()
command = COMMANDS.command
async_command = COMMANDS.async_command


def split_flags(args: list[str], allowed: str) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    rest: list[str] = []
    only_args = False
    for a in args:
        if not only_args and a == "--":
            only_args = True
        elif not only_args and a.startswith("-") and len(a) > 1 and all(c in allowed for c in a[1:]):
            flags.update(a[1:])
        else:
            rest.append(a)
    return flags, rest


def path_error(ctx: Ctx, tool: str, exc: OSError, path: str) -> int:
    """`tool: path: strerror` on stderr; the exit status of a failed operand (1)."""
    ctx.err(f"{tool}: {path}: {exc.strerror or exc}\n")
    return 1
