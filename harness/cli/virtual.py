"""`virtual-device start|stop`: virtual phones that speak the adb wire protocol."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.output import out


def vd_start(
    count: Annotated[int, typer.Option(help="How many devices.")] = 1,
    port: Annotated[int | None, typer.Option(help="First TCP port (default: free ports).")] = None,
    abi: Annotated[
        str,
        typer.Option(
            help="x86_64 (host kernels) or arm64-v8a (aarch64 ONNX Runtime under qemu; `make arm64-runtime`)."
        ),
    ] = "x86_64",
) -> None:
    """Start device(s) with the AVA app and its sign-off tests installed, connect them to the adb
    server (ANDROID_ADB_SERVER_PORT or 5037) and print their serials."""
    from harness.android.virtual import start_virtual

    for serial in start_virtual(count, port, abi=abi):
        out.print(serial)


def vd_stop() -> None:
    """Disconnect and stop every virtual device started with `virtual-device start`."""
    from harness.android.virtual import stop_virtual

    for serial in stop_virtual():
        out.print(f"stopped {serial}")
