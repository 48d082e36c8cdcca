"""CLI: `python -m virtual_device start|stop|serve|status`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from virtual_device.config import DeviceConfig
from virtual_device.device import VirtualDevice
from virtual_device.services import DEFAULT_SERVICES


async def serve(
    count: int, port: int | None, config: DeviceConfig, sandbox: Path | None, ready_file: Path | None
) -> None:
    devices: list[VirtualDevice] = []
    for i in range(count):
        dev_sandbox = sandbox / f"device-{i}" if sandbox else None
        device = VirtualDevice(
            config.replace(), services=DEFAULT_SERVICES, port=(port + i) if port else 0, sandbox=dev_sandbox
        )
        await device.start()
        devices.append(device)
    info = {"pid": os.getpid(), "ports": [d.port for d in devices], "sandboxes": [str(d.sandbox) for d in devices]}
    print(json.dumps(info), flush=True)
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for device in devices:
        await device.stop()


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
    sub.add_parser("stop")
    sub.add_parser("status")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from virtual_device import lifecycle

    if args.cmd == "serve":
        config = DeviceConfig.load(args.config) if args.config else DeviceConfig()
        asyncio.run(serve(args.count, args.port, config, args.sandbox, args.ready_file))
        return 0
    if args.cmd == "start":
        config = DeviceConfig.load(args.config) if args.config else DeviceConfig()
        if args.sandbox:
            config.sandbox_root = str(args.sandbox)
        for serial in lifecycle.start_devices(args.count, args.port, adb_path=args.adb, config=config):
            print(serial)
        return 0
    if args.cmd == "stop":
        for serial in lifecycle.stop_devices():
            print(f"stopped {serial}")
        return 0
    json.dump(lifecycle.list_devices(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
