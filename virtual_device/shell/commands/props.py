"""getprop and setprop over DeviceConfig.props (setprop writes extra_props; ro.* is refused)."""

from __future__ import annotations

from virtual_device.shell.interpreter import Ctx, ShellSession
from virtual_device.shell.registry import command


@command("getprop")
def cmd_getprop(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    props = s.device.props
    if not args:
        for key in sorted(props):
            ctx.out(f"[{key}]: [{props[key]}]\n")
    else:
        ctx.out(props.get(args[0], args[1] if len(args) > 1 else "") + "\n")
    return 0


@command("setprop")
def cmd_setprop(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    if len(args) != 2:
        ctx.err("usage: setprop NAME VALUE\n")
        return 1
    if args[0].startswith("ro."):
        ctx.err(f"Failed to set property '{args[0]}' to '{args[1]}'.\n")
        return 1
    s.device.config.extra_props[args[0]] = args[1]
    return 0
