"""Installed packages: what `pm install` makes of a real APK. The binary AndroidManifest.xml is read
with pyaxmlparser (package, versions, SDKs, debuggable, the <instrumentation>s it declares) and the
APK Signature Scheme v2/v3 block is verified with apksigtool (digests and signatures); a package then
joins the device's config, so `pm list`, `run-as` and `am instrument` see it like a configured one.

An installed instrumentation runs the Python entry `DeviceConfig.instrumentation_entries` binds to
its package; with none, `am instrument` fails the way a runner class missing from the APK does."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import weakref
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from virtual_device.config import InstrumentationSpec

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
UNBOUND_ENTRY = "virtual_device.apps.builtin:unbound"
STATE_FILE = "data/system/packages.json"  # in the sandbox, beside the APKs under data/app; not device-visible
V2_REQUIRED_FROM_SDK = 30  # Android 11 refuses a targetSdk >= 30 APK signed with v1 only


class InstallError(Exception):
    """A `pm install` failure: printed as `Failure [CODE: message]`."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code

    def line(self) -> str:
        return f"Failure [{self}]"


@dataclass
class InstalledPackage:
    name: str
    version_code: int
    version_name: str
    min_sdk: int
    target_sdk: int
    debuggable: bool
    instrumentations: list[tuple[str, str]]  # (runner class, target package)
    signer_sha256: str
    installed_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


def apk_path(pkg: str) -> str:
    """The device path of a package's base.apk, shaped like Android 11+'s randomized code paths."""
    h = hashlib.sha256(pkg.encode()).digest()
    a = base64.urlsafe_b64encode(h[:16]).decode().rstrip("=")
    b = base64.urlsafe_b64encode(h[16:]).decode().rstrip("=")
    return f"/data/app/~~{a}==/{pkg}-{b}==/base.apk"


def _signer_digest(apk: Path, target_sdk: int, package: str, where: str) -> str:
    """SHA-256 of the first signer's certificate, once the v2/v3 signature verifies."""
    try:
        import apksigcopier
        import apksigtool
    except ImportError:
        raise InstallError("INSTALL_FAILED_INTERNAL_ERROR", "apksigtool is not installed") from None

    try:
        _, block = apksigcopier.extract_v2_sig(str(apk))
    except apksigcopier.NoAPKSigningBlock:
        block = None
    except Exception as exc:
        reason = f"Failed to collect certificates from {where}: {exc}"
        raise InstallError("INSTALL_PARSE_FAILED_NO_CERTIFICATES", reason) from None
    if block is None:
        with zipfile.ZipFile(apk) as zf:
            names = zf.namelist()
        v1 = [n for n in names if n.startswith("META-INF/") and n.endswith((".RSA", ".DSA", ".EC"))]
        if not v1:
            raise InstallError(
                "INSTALL_PARSE_FAILED_NO_CERTIFICATES",
                f"Failed collecting certificates for {where}: no signature found in package {package}",
            )
        if target_sdk >= V2_REQUIRED_FROM_SDK:
            raise InstallError(
                "INSTALL_PARSE_FAILED_NO_CERTIFICATES",
                f"Scanning Failed.: No signature found in package of version 2 or newer for package {package}",
            )
        with zipfile.ZipFile(apk) as zf:  # v1 (JAR) signatures are trusted here, not verified
            return hashlib.sha256(zf.read(v1[0])).hexdigest()
    try:
        signers: list[Any] = []
        for pair in apksigtool.parse_apk_signing_block(block).pairs:
            value = pair.value
            if isinstance(value, apksigtool.APKSignatureSchemeBlock):
                for signer in value.signers:
                    for sig in signer.signatures:
                        if sig.signature_algorithm_id not in apksigtool.HASHERS:
                            raise apksigtool.VerificationError(
                                f"unsupported signature algorithm 0x{sig.signature_algorithm_id:04x} "
                                "(the virtual device verifies RSA PKCS#1 v1.5 signatures)"
                            )
                if value.is_v2():
                    apksigtool.verify_apk_signature_scheme_v2(value.signers, str(apk))
                else:
                    apksigtool.verify_apk_signature_scheme_v3(value.signers, str(apk))
                signers.extend(value.signers)
        if not signers:
            raise apksigtool.VerificationError("No APK Signature Scheme v2 or v3 block")
        return hashlib.sha256(signers[0].signed_data.certificates[0].data).hexdigest()
    except Exception as exc:  # VerificationError, InvalidSignature, malformed blocks (AssertionError)
        reason = str(exc) or type(exc).__name__
        raise InstallError(
            "INSTALL_PARSE_FAILED_NO_CERTIFICATES", f"Failed to collect certificates from {where}: {reason}"
        ) from None


def inspect_apk(apk: Path, where: str) -> InstalledPackage:
    """Parse and verify an APK (`where` is its device path, for messages). Raises InstallError."""
    try:
        from pyaxmlparser import APK
    except ImportError:
        raise InstallError("INSTALL_FAILED_INTERNAL_ERROR", "pyaxmlparser is not installed") from None

    reason = f"Failed to parse {where}: Failed to load asset path {where}"
    not_apk = InstallError("INSTALL_PARSE_FAILED_NOT_APK", reason)
    if not zipfile.is_zipfile(apk):
        raise not_apk
    logging.getLogger("pyaxmlparser").setLevel(logging.CRITICAL)
    try:
        parsed = APK(str(apk))
        valid = parsed.is_valid_APK() and bool(parsed.package)
        manifest = parsed.get_android_manifest_xml() if valid else None
    except Exception:
        raise not_apk from None
    if manifest is None:
        raise InstallError("INSTALL_PARSE_FAILED_NOT_APK", f"Failed to parse {where}: No AndroidManifest.xml")
    package = str(parsed.package)
    target_sdk = int(parsed.get_target_sdk_version() or parsed.get_min_sdk_version() or 1)
    signer = _signer_digest(apk, target_sdk, package, where)
    instrumentations = []
    for node in manifest.iter("instrumentation"):
        runner = node.get(f"{ANDROID_NS}name") or ""
        runner = package + runner if runner.startswith(".") else runner
        instrumentations.append((runner, node.get(f"{ANDROID_NS}targetPackage") or package))
    debuggable = any(app.get(f"{ANDROID_NS}debuggable") == "true" for app in manifest.iter("application"))
    return InstalledPackage(
        name=package,
        version_code=int(parsed.version_code or 0),
        version_name=str(parsed.version_name or ""),
        min_sdk=int(parsed.get_min_sdk_version() or 1),
        target_sdk=target_sdk,
        debuggable=debuggable,
        instrumentations=instrumentations,
        signer_sha256=signer,
    )


class PackageManager:
    """The packages installed on one device from APKs (configured ones are in DeviceConfig only)."""

    def __init__(self) -> None:
        self.installed: dict[str, InstalledPackage] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _host_apk(device: Any, pkg: str) -> Path:
        return Path(device.storage.root) / apk_path(pkg).lstrip("/")

    @staticmethod
    def _state(device: Any) -> Path:
        return Path(device.storage.root) / STATE_FILE

    def load(self, device: Any) -> None:
        """Packages a device installed before it restarted over the same sandbox (packages.xml's part)."""
        try:
            saved = json.loads(self._state(device).read_text())
        except (OSError, ValueError):
            return
        for data in saved:
            with contextlib.suppress(TypeError, ValueError):
                info = InstalledPackage(**{**data, "instrumentations": [tuple(i) for i in data["instrumentations"]]})
                if self._host_apk(device, info.name).is_file():
                    self.installed[info.name] = info
                    self._register(device, info)

    def _save(self, device: Any) -> None:
        state = self._state(device)
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.with_name(state.name + ".tmp")
        tmp.write_text(json.dumps([asdict(i) for i in self.installed.values()], indent=1))
        os.replace(tmp, state)

    def install(self, device: Any, apk: Path, where: str, *, allow_downgrade: bool = False) -> InstalledPackage:
        """Parse, verify, copy and register an APK; raises InstallError as `pm install` reports it."""
        cfg = device.config
        info = inspect_apk(apk, where)
        if info.min_sdk > cfg.sdk:
            reason = f"Requires newer sdk version #{info.min_sdk} (current version is #{cfg.sdk})"
            raise InstallError("INSTALL_FAILED_OLDER_SDK", reason)
        with self.lock:
            old = self.installed.get(info.name)
            if old is not None and old.signer_sha256 != info.signer_sha256:
                raise InstallError(
                    "INSTALL_FAILED_UPDATE_INCOMPATIBLE",
                    f"Existing package {info.name} signatures do not match newer version; ignoring!",
                )
            if old is not None and info.version_code < old.version_code and not allow_downgrade:
                raise InstallError(
                    "INSTALL_FAILED_VERSION_DOWNGRADE",
                    f"Downgrade detected: Update version code {info.version_code} is older than current "
                    f"{old.version_code}",
                )
            host = self._host_apk(device, info.name)
            host.parent.mkdir(parents=True, exist_ok=True)
            try:
                device.storage.copy_file(apk, host)
            except OSError:
                raise InstallError("INSTALL_FAILED_INSUFFICIENT_STORAGE") from None
            if old is not None:
                info.installed_at = old.installed_at
                self._unregister(device, info.name)
            self.installed[info.name] = info
            self._register(device, info)
            self._save(device)
        return info

    def _register(self, device: Any, info: InstalledPackage) -> None:
        cfg = device.config
        if info.name not in cfg.packages:
            cfg.packages.append(info.name)
        if cfg.debuggable_packages is not None and info.debuggable and info.name not in cfg.debuggable_packages:
            cfg.debuggable_packages.append(info.name)
        entry = cfg.instrumentation_entries.get(info.name, UNBOUND_ENTRY)
        for runner, target in info.instrumentations:
            cfg.instrumentations[f"{info.name}/{runner}"] = InstrumentationSpec(entry=entry, target=target)
        device.storage.ensure_package_dirs(info.name)

    def _unregister(self, device: Any, pkg: str) -> None:
        cfg = device.config
        with contextlib.suppress(ValueError):
            cfg.packages.remove(pkg)
        if cfg.debuggable_packages is not None:
            with contextlib.suppress(ValueError):
                cfg.debuggable_packages.remove(pkg)
        for comp in [c for c in cfg.instrumentations if c.split("/", 1)[0] == pkg]:
            del cfg.instrumentations[comp]

    def uninstall(self, device: Any, pkg: str, *, keep_data: bool = False) -> bool:
        """Remove a package (installed or configured), its APK and, unless keep_data, its app data."""
        cfg = device.config
        with self.lock:
            if pkg not in cfg.all_packages:
                return False
            self.installed.pop(pkg, None)
            self._unregister(device, pkg)
            self._save(device)
            shutil.rmtree(self._host_apk(device, pkg).parent.parent, ignore_errors=True)
            if not keep_data:
                self._remove_data(device, pkg)
        return True

    @staticmethod
    def _remove_data(device: Any, pkg: str) -> None:
        root = Path(device.storage.root)
        for data in (root / "sdcard" / "Android" / "data" / pkg, root / "data" / "data" / pkg):
            shutil.rmtree(data, ignore_errors=True)

    def clear_data(self, device: Any, pkg: str) -> None:
        """`pm clear`: the app's data goes, the package stays (with empty data directories)."""
        self._remove_data(device, pkg)
        device.storage.ensure_package_dirs(pkg)


_MANAGERS: weakref.WeakKeyDictionary[Any, PackageManager] = weakref.WeakKeyDictionary()
_MANAGERS_LOCK = threading.Lock()


def package_manager(device: Any) -> PackageManager:
    """The package manager of a device (a DeviceContext), keyed by its Storage like its log."""
    with _MANAGERS_LOCK:
        found = _MANAGERS.get(device.storage)
        if found is None:
            found = _MANAGERS[device.storage] = PackageManager()
            found.load(device)
        return found
