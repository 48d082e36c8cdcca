"""A virtual Android device speaking the real adb wire protocol (see README in docstrings).

`adb connect 127.0.0.1:PORT` against it works with the stock adb server."""

from virtual_device.apps.instrumentation import Instrumentation, InstrumentationContext
from virtual_device.config import DeviceConfig, InstrumentationSpec
from virtual_device.faults import Fault, FaultInjector
from virtual_device.host import DeviceHost, VirtualDeviceHandle

__all__ = [
    "DeviceConfig",
    "DeviceHost",
    "Fault",
    "FaultInjector",
    "Instrumentation",
    "InstrumentationContext",
    "InstrumentationSpec",
    "VirtualDeviceHandle",
]
