"""A virtual Android device speaking the real adb wire protocol (see README in docstrings).

`adb connect 127.0.0.1:PORT` against it works with the stock adb server."""

from .config import DeviceConfig, InstrumentationSpec
from .faults import Fault, FaultInjector
from .host import DeviceHost, VirtualDeviceHandle
from .instrumentation import Instrumentation, InstrumentationContext

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
