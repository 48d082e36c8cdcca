"""pm (list packages/instrumentation, path), run-as, dumpsys (battery)."""

from __future__ import annotations

import hashlib

from virtual_device.shell.interpreter import Ctx, ExitShell, ShellSession
from virtual_device.shell.registry import async_command, command, split_flags


def _apk_path(pkg: str) -> str:
    h = hashlib.sha256(pkg.encode()).digest()
    import base64

    a = base64.urlsafe_b64encode(h[:16]).decode().rstrip("=")
    b = base64.urlsafe_b64encode(h[16:]).decode().rstrip("=")
    return f"/data/app/~~{a}==/{pkg}-{b}==/base.apk"


@command("pm")
def cmd_pm(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args[:2] == ["list", "packages"]:
        flags, rest = split_flags(args[2:], "fdesi3uUa")
        needle = rest[0] if rest else ""
        for pkg in cfg.all_packages:
            if needle in pkg:
                ctx.out(f"package:{_apk_path(pkg)}={pkg}\n" if "f" in flags else f"package:{pkg}\n")
        return 0
    if args[:2] == ["list", "instrumentation"]:
        _, rest = split_flags(args[2:], "f")
        for comp, spec in sorted(cfg.instrumentations.items()):
            if not rest or rest[0] == spec.target:
                ctx.out(f"instrumentation:{comp} (target={spec.target})\n")
        return 0
    if args[:1] == ["path"] and len(args) >= 2:
        pkg = args[-1]
        if pkg not in cfg.all_packages:
            return 1
        ctx.out(f"package:{_apk_path(pkg)}\n")
        return 0
    if args[:1] == ["list"] and len(args) >= 2 and args[1] == "features":
        ctx.out("feature:android.hardware.touchscreen\nfeature:reqGlEsVersion=0x30002\n")
        return 0
    ctx.err(
        "Unknown command: " + (" ".join(args) or "(none)") + "\n"
        if args
        else "usage: pm path [--user USER_ID] PACKAGE\n       pm list packages [-f] [FILTER]\n"
    )
    return 255 if args else 1


@async_command("run-as")
async def cmd_run_as(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args and args[0] in ("--user", "-u") and len(args) > 1:
        args = args[2:]
    if not args:
        ctx.err("usage: run-as <package-name> [--user <uid>] <command> [<args>]\n")
        return 1
    pkg, rest = args[0], args[1:]
    if pkg not in cfg.all_packages:
        ctx.err(f"run-as: unknown package: {pkg}\n")
        return 1
    if not cfg.is_debuggable(pkg):
        ctx.err(f"run-as: package not debuggable: {pkg}\n")
        return 1
    if not rest:
        return 0
    await ctx.flush()
    sub = ShellSession(
        s.device,
        s.write_out,
        s.write_err,
        commands=s.commands,
        cwd=f"/data/data/{pkg}",
        closed=s.closed,
        run_as=pkg,
    )
    sub.status = s.status
    sub_ctx = Ctx(sub, ctx.stdin, ctx._sink, ctx._err_sink)
    try:
        code = await sub.dispatch(rest, sub_ctx)
    except ExitShell as exc:
        code = exc.code
    ctx.stdout += sub_ctx.stdout
    ctx.stderr += sub_ctx.stderr
    return code


@command("dumpsys")
def cmd_dumpsys(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    cfg = s.device.config
    if args[:1] == ["battery"]:
        ctx.out(
            "Current Battery Service state:\n"
            "  AC powered: false\n  USB powered: true\n  Wireless powered: false\n  Dock powered: false\n"
            "  Max charging current: 500000\n  Max charging voltage: 5000000\n"
            f"  Charge counter: {cfg.battery_level * 40000}\n"
            f"  status: {cfg.battery_status}\n  health: 2\n  present: true\n"
            f"  level: {cfg.battery_level}\n  scale: 100\n  voltage: 4123\n"
            f"  temperature: {round(cfg.battery_temperature * 10)}\n  technology: Li-ion\n"
        )
        return 0
    if not args:
        ctx.out("Currently running services:\n  battery\n  package\n  activity\n")
        return 0
    ctx.err(f"Can't find service: {args[0]}\n")
    return 0
