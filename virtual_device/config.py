"""Device configuration: a plain dataclass that round-trips through JSON so the detached
daemon and the in-process fixtures share one description of a device."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

HELLO_COMPONENT = "com.example.hello.test/androidx.test.runner.AndroidJUnitRunner"


@dataclass
class InstrumentationSpec:
    """Where `am instrument` finds the Python code standing in for a test APK."""

    entry: str  # "module.path:function"
    target: str  # the package under test, as `pm list instrumentation` reports it


def _default_instrumentations() -> dict[str, InstrumentationSpec]:
    return {HELLO_COMPONENT: InstrumentationSpec(entry="virtual_device.apps.builtin:hello", target="com.example.hello")}


@dataclass
class DeviceConfig:
    """Serial-independent description of a virtual device."""

    model: str = "AVA Virtual Device"
    manufacturer: str = "Augmentalis"
    product: str = "ava_virtual"
    device: str = "ava_virtual"
    sdk: int = 34
    release: str = "14"
    abi: str = "arm64-v8a"
    battery_level: int = 85
    battery_temperature: float = 29.5  # degrees Celsius; dumpsys reports tenths
    battery_status: int = 2  # BatteryManager.BATTERY_STATUS_CHARGING
    capacity_bytes: int = 8 * 1024**3
    packages: list[str] = field(default_factory=lambda: ["com.example.hello"])
    # Only debuggable packages accept run-as, like a real device with release builds around.
    debuggable_packages: list[str] | None = None  # None: every installed package
    instrumentations: dict[str, InstrumentationSpec] = field(default_factory=_default_instrumentations)
    # An APK installed with `pm install` that declares <instrumentation>: its package name -> the
    # "module:function" that runs in its place (packages.py). Unbound ones fail like a missing runner class.
    instrumentation_entries: dict[str, str] = field(default_factory=dict)
    sandbox_root: str | None = None  # host directory; None: a temporary directory
    extra_props: dict[str, str] = field(default_factory=dict)
    # Faults armed at start-up (the daemon has no Python API): dicts (faults.Fault.from_dict) or the
    # Fault objects faults.tamper_file(...), rewrite_status(...), slow_boot(...) return.
    faults: list[dict[str, Any]] = field(default_factory=list)
    max_payload: int = 1024 * 1024
    # True: answer CNXN with AUTH and never accept a key, so the adb server shows "unauthorized".
    require_auth: bool = False
    # An Android emulator says so in getprop (ro.kernel.qemu=1, ro.boot.qemu=1), and a virtual device is
    # one. False models a real phone: the props are absent, as on hardware.
    emulator: bool = True
    # Size of each logcat ring buffer (main, system, crash); the oldest entries go first.
    log_buffer_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        # faults.Fault objects (faults.tamper_file(...)) become their JSON form, as a daemon reads it.
        self.faults = [dict(f.to_dict() if hasattr(f, "to_dict") else f) for f in self.faults]
        # JSON gives plain dicts/strings; normalise so the rest of the code sees one shape.
        norm: dict[str, InstrumentationSpec] = {}
        for comp, spec in self.instrumentations.items():
            if isinstance(spec, InstrumentationSpec):
                norm[comp] = spec
            elif isinstance(spec, str):
                test_pkg = comp.split("/", 1)[0]
                target = test_pkg[: -len(".test")] if test_pkg.endswith(".test") else test_pkg
                norm[comp] = InstrumentationSpec(entry=spec, target=target)
            else:
                norm[comp] = InstrumentationSpec(**spec)
        self.instrumentations = norm

    @property
    def test_packages(self) -> list[str]:
        return sorted({comp.split("/", 1)[0] for comp in self.instrumentations})

    @property
    def all_packages(self) -> list[str]:
        return sorted(set(self.packages) | set(self.test_packages))

    def is_debuggable(self, pkg: str) -> bool:
        allowed = self.all_packages if self.debuggable_packages is None else self.debuggable_packages
        return pkg in allowed

    def replace(self, **overrides: Any) -> DeviceConfig:
        data = self.to_dict()
        data.update(overrides)
        return DeviceConfig.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown DeviceConfig keys: {sorted(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DeviceConfig:
        return cls.from_dict(json.loads(text))

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> DeviceConfig:
        return cls.from_json(Path(path).read_text())

    def props(self, serial: str) -> dict[str, str]:
        """getprop view of the device; the serial is per device, everything else from here."""
        props = {
            "ro.product.model": self.model,
            "ro.product.manufacturer": self.manufacturer,
            "ro.product.brand": self.manufacturer.lower(),
            "ro.product.name": self.product,
            "ro.product.device": self.device,
            "ro.build.version.sdk": str(self.sdk),
            "ro.build.version.release": self.release,
            # A user build, as root:/remount: answer ("adbd cannot run as root in production builds").
            "ro.build.type": "user",
            "ro.build.tags": "release-keys",
            "ro.build.fingerprint": (
                f"{self.manufacturer.lower()}/{self.product}/{self.device}:{self.release}/AVA1.0/1:user/release-keys"
            ),
            "ro.build.characteristics": "default",
            "ro.product.cpu.abi": self.abi,
            "ro.product.cpu.abilist": self.abi,
            "ro.serialno": serial,
            "ro.boot.serialno": serial,
            "ro.debuggable": "0",
            "ro.secure": "1",
            "sys.boot_completed": "1",
            "dev.bootcomplete": "1",
            "persist.sys.timezone": "UTC",
        }
        if self.emulator:
            props.update({"ro.kernel.qemu": "1", "ro.boot.qemu": "1", "ro.hardware": "ranchu"})
        props.update(self.extra_props)
        return props
