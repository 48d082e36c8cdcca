"""CLI: `python -m virtual_device start|stop|list|status|serve`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from virtual_device.config import DeviceConfig
from virtual_device.device import VirtualDevice
from virtual_device.host import DeviceLoop
from virtual_device.services import DEFAULT_SERVICES

T = TypeVar("T")

log = logging.getLogger("virtual_device")
PARENT_POLL_SECONDS = 0.2


async def _watch_parent(parent_pid: int, detach_file: Path | None, stop: asyncio.Event) -> None:
    """Stop when the process that started us is gone, until it detaches us (creates detach_file):
    a device started for a run never outlives the run, however the run ended."""
    while not stop.is_set():
        if detach_file is not None and detach_file.exists():
            return
        if os.getppid() != parent_pid:
            log.info("the process that started this device (%d) is gone: stopping", parent_pid)
            stop.set()
            return
        await asyncio.sleep(PARENT_POLL_SECONDS)


async def _on(runner: DeviceLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Await a coroutine running on a device's own loop."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, runner.loop))


async def serve(
    count: int,
    port: int | None,
    config: DeviceConfig,
    sandbox: Path | None,
    ready_file: Path | None,
    *,
    parent_pid: int | None = None,
    detach_file: Path | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(_watch_parent(parent_pid, detach_file, stop)) if parent_pid else None
    devices: list[tuple[VirtualDevice, DeviceLoop]] = []

    async def boot() -> None:
        for i in range(count):
            dev_sandbox = sandbox / f"device-{i}" if sandbox and count > 1 else sandbox
            device = VirtualDevice(
                config.replace(), services=DEFAULT_SERVICES, port=(port + i) if port else 0, sandbox=dev_sandbox
            )
            # Each device on its own loop thread: one hashing 100 MB never stalls another's replies.
            runner = DeviceLoop(f"virtual-device-{i}")
            devices.append((device, runner))
            await _on(runner, device.start())

    booting = asyncio.create_task(boot())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({booting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if booting.done() and not stop.is_set():
        booting.result()  # a failed start (port taken) raises here
        info = {
            "pid": os.getpid(),
            "ports": [d.port for d, _ in devices],
            "sandboxes": [str(d.sandbox) for d, _ in devices],
        }
        print(json.dumps(info), flush=True)
        if ready_file is not None:
            tmp = ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            os.replace(tmp, ready_file)
        await stopping
    booting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await booting
    if watch is not None:
        watch.cancel()
    for device, runner in devices:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_on(runner, device.stop()), 5)
        runner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virtual_device", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("start", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--count", type=int, default=1)
        p.add_argument("--port", type=int, default=None, help="first port (default: free ports)")
        p.add_argument("--config", type=Path, default=None, help="DeviceConfig JSON")
        p.add_argument("--adb", default=None, help="adb binary (start only)")
        p.add_argument("--sandbox", type=Path, default=None)
        p.add_argument("--ready-file", type=Path, default=None)
        p.add_argument("--parent-pid", type=int, default=None, help="serve: stop when this parent is gone")
        p.add_argument("--detach-file", type=Path, default=None, help="serve: ... until this file exists")
    stop = sub.add_parser("stop", help="stop devices started with `start` (all, or the serials named)")
    stop.add_argument("serials", nargs="*")
    sub.add_parser("list", help="every recorded device: serial, port, abi, app, owner, pid, alive")
    sub.add_parser("status", help="the same as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from virtual_device import lifecycle

    if args.cmd == "serve":
        # A starter holds SIGINT/SIGTERM while it spawns and records us; we inherit that mask.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        config = DeviceConfig.load(args.config) if args.config else DeviceConfig()
        coro = serve(
            args.count,
            args.port,
            config,
            args.sandbox,
            args.ready_file,
            parent_pid=args.parent_pid,
            detach_file=args.detach_file,
        )
        asyncio.run(coro)
        return 0
    if args.cmd == "start":
        config = DeviceConfig.load(args.config) if args.config else DeviceConfig()
        if args.sandbox:
            config.sandbox_root = str(args.sandbox)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            serials = lifecycle.start_devices(args.count, args.port, adb_path=args.adb, config=config)
        except KeyboardInterrupt:
            print("interrupted: no virtual device left running", file=sys.stderr)
            return 130
        for serial in serials:
            print(serial)
        return 0
    if args.cmd == "stop":
        try:
            stopped = lifecycle.stop_devices(serials=args.serials or None)
        except lifecycle.StopRefused as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for serial in stopped:
            print(f"stopped {serial}")
        return 0
    if args.cmd == "list":
        print(lifecycle.format_devices(lifecycle.list_devices()))
        return 0
    json.dump(lifecycle.list_devices(), sys.stdout, indent=2)
    print()
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
