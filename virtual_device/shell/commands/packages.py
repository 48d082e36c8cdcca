"""pm / cmd package (install, uninstall, list packages/instrumentation, path), run-as, dumpsys."""

from __future__ import annotations

import hashlib
import posixpath
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from virtual_device.apps.runlog import app_uid
from virtual_device.packages import InstallError, apk_path, package_manager
from virtual_device.shell.interpreter import Ctx, ExitShell, ShellSession
from virtual_device.shell.registry import async_command, command, split_flags


async def _install(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    """pm install [-r -t -d -g ...] PATH, or `-S SIZE` with the APK on stdin (cmd package install)."""
    size: int | None = None
    downgrade = False
    paths: list[str] = []
    it = iter(args)
    for a in it:
        if a == "-S":
            size = int(next(it, "0") or 0)
        elif a in ("-i", "--user", "--install-location", "--originating-uri", "--referrer", "--abi", "-p"):
            next(it, None)
        elif a == "-d":
            downgrade = True
        elif not a.startswith("-"):
            paths.append(a)
    pm = package_manager(s.device)
    session = f"/data/app/vmdl{1_000_000 + len(pm.installed) * 7919}.tmp/base.apk"
    if size is not None and not paths:
        if s.stdin_exactly is not None:
            data = await s.stdin_exactly(size)
        elif s.stdin_source is not None:
            data = (await s.stdin_source())[:size]
        else:
            ctx.err("Error: APK content must be streamed\n")
            return 1
        with tempfile.TemporaryDirectory(prefix="vd-install-") as tmp:
            apk = Path(tmp) / "base.apk"
            apk.write_bytes(data)
            return _report(ctx, lambda: pm.install(s.device, apk, session, allow_downgrade=downgrade))
    if len(paths) != 1:
        ctx.err("Error: APK content must be streamed\n" if not paths else "Error: multiple APKs need a session\n")
        return 1
    try:
        host = s.storage.readable(paths[0], s.cwd).host
        if host is None or not host.is_file():
            raise FileNotFoundError(paths[0])
    except OSError:
        ctx.err(f"Error: Unable to open file: {paths[0]}\nConsider using a file under /data/local/tmp/\n")
        return 1
    return _report(ctx, lambda: pm.install(s.device, host, session, allow_downgrade=downgrade))


def _report(ctx: Ctx, install: Callable[[], object]) -> int:
    try:
        install()
    except InstallError as exc:
        ctx.out(exc.line() + "\n")
        return 1
    ctx.out("Success\n")
    return 0


def _uninstall(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    flags, rest = split_flags(args, "k")
    if not rest:
        ctx.err("Error: package name not specified\n")
        return 1
    if package_manager(s.device).uninstall(s.device, rest[-1], keep_data="k" in flags):
        ctx.out("Success\n")
        return 0
    ctx.out("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
    return 1


@async_command("pm")
async def cmd_pm(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    package_manager(s.device)  # packages installed before a restart join the config
    cfg = s.device.config
    if args[:1] == ["install"]:
        return await _install(s, ctx, args[1:])
    if args[:1] == ["uninstall"]:
        return _uninstall(s, ctx, args[1:])
    if args[:1] in (["clear"], ["grant"], ["revoke"]) and len(args) >= 2:
        pkg = next((a for a in args[1:] if not a.startswith("-") and a not in ("0",)), "")
        if pkg not in cfg.all_packages:
            ctx.err(
                f"Exception occurred while executing '{args[0]}':\n"
                f"java.lang.IllegalArgumentException: Unknown package: {pkg}\n"
            )
            return 255
        if args[0] == "clear":
            package_manager(s.device).clear_data(s.device, pkg)
            ctx.out("Success\n")
        return 0
    if args[:2] == ["list", "packages"]:
        flags, rest = split_flags(args[2:], "fdesi3uUa")
        needle = rest[0] if rest else ""
        for pkg in cfg.all_packages:
            if needle in pkg:
                ctx.out(f"package:{apk_path(pkg)}={pkg}\n" if "f" in flags else f"package:{pkg}\n")
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
        ctx.out(f"package:{apk_path(pkg)}\n")
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


@async_command("cmd")
async def cmd_cmd(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    """`cmd package ...` is pm, `cmd settings ...` settings; `cmd -l` lists the services."""
    if args[:1] == ["package"]:
        return await cmd_pm(s, ctx, args[1:])
    if args[:1] == ["settings"]:  # adb asks `abb_exec:settings get global ...` before an install
        return await s.dispatch(args, ctx)
    if args[:1] == ["-l"]:
        ctx.out("Current services:\n  activity\n  battery\n  package\n  settings\n")
        return 0
    ctx.err(f"cmd: Can't find service: {args[0] if args else ''}\n")
    return 20


@async_command("run-as")
async def cmd_run_as(s: ShellSession, ctx: Ctx, args: list[str]) -> int:
    package_manager(s.device)  # packages installed before a restart join the config
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
    if args[:1] == ["package"] and len(args) > 1:
        return _dumpsys_package(s, ctx, args[-1])
    if not args:
        ctx.out("Currently running services:\n  battery\n  package\n  activity\n")
        return 0
    ctx.err(f"Can't find service: {args[0]}\n")
    return 0


def _dumpsys_package(s: ShellSession, ctx: Ctx, pkg: str) -> int:
    pm = package_manager(s.device)
    cfg = s.device.config
    if pkg not in cfg.all_packages:
        ctx.out(f"Unable to find package: {pkg}\n")
        return 0
    info = pm.installed.get(pkg)
    code, name, min_sdk, target = (
        (info.version_code, info.version_name, info.min_sdk, info.target_sdk) if info else (1, "1.0", 24, cfg.sdk)
    )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(info.updated_at if info else 0))
    first = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(info.installed_at if info else 0))
    ident = hashlib.sha1(pkg.encode()).hexdigest()[:7]
    flags = "HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP" + (" DEBUGGABLE" if cfg.is_debuggable(pkg) else "")
    ctx.out(
        "Packages:\n"
        f"  Package [{pkg}] ({ident}):\n"
        f"    userId={app_uid(pkg)}\n"
        f"    pkg=Package{{{ident} {pkg}}}\n"
        f"    codePath={posixpath.dirname(apk_path(pkg))}\n"
        f"    primaryCpuAbi={cfg.abi}\n"
        f"    versionCode={code} minSdk={min_sdk} targetSdk={target}\n"
        f"    versionName={name}\n"
        f"    flags=[ {flags} ]\n"
        f"    timeStamp={stamp}\n    firstInstallTime={first}\n    lastUpdateTime={stamp}\n"
    )
    if info is not None:
        ctx.out(f"    signatures=PackageSignatures{{{ident} version:2, signatures:[{info.signer_sha256[:8]}]}}\n")
    return 0
