"""`virtual-device start|stop|list`: virtual phones that speak the adb wire protocol."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from harness.cli.output import console, out


def vd_start(
    count: Annotated[int, typer.Option(help="How many devices.")] = 1,
    port: Annotated[int | None, typer.Option(help="First TCP port (default: free ports).")] = None,
    abi: Annotated[
        str,
        typer.Option(
            help="x86_64 (host kernels) or arm64-v8a (aarch64 ONNX Runtime under qemu; `make arm64-runtime`)."
        ),
    ] = "x86_64",
    app: Annotated[
        str,
        typer.Option(
            help="The device side: python (the reference) or kotlin (device_tests/android's Kotlin sign-off"
            " in a JVM over real ONNX Runtime; `make android-check` builds it)."
        ),
    ] = "python",
) -> None:
    """Start device(s) with the AVA app and its sign-off tests installed, connect them to the adb
    server (ANDROID_ADB_SERVER_PORT or 5037) and print their serials. They run until
    `virtual-device stop`."""
    from harness.android.virtual import start_virtual

    # SIGTERM, like Ctrl-C, stops the devices this start has begun: none is left running unknown.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        serials = start_virtual(count, port, abi=abi, app=app)
    except KeyboardInterrupt:
        console.print("error: interrupted; no virtual device was left running", markup=False, highlight=False)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    for serial in serials:
        out.print(serial, markup=False, highlight=False)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def vd_stop(
    serials: Annotated[
        list[str] | None, typer.Argument(help="Only these devices (default: all started with `start`).")
    ] = None,
) -> None:
    """Disconnect and stop the virtual devices started with `virtual-device start` (all, or the
    serials named). A deploy-test's own devices are its own: it stops them, this never does; a
    serial that is not `start`'s is refused (exit 2) and nothing is stopped."""
    from harness.android.virtual import stop_virtual

    for serial in stop_virtual(serials or None):
        out.print(f"stopped {serial}", markup=False, highlight=False)


def vd_list() -> None:
    """Every virtual device started here: serial, port, ABI, device side (python or kotlin), owner
    (`cli` for `virtual-device start`, `run:<pid>` for a run's own), pid and whether it is alive.
    Dead ones are shown once and dropped."""
    from harness.android.virtual import list_virtual
    from virtual_device.lifecycle import format_devices

    out.print(format_devices(list_virtual()), markup=False, highlight=False)
