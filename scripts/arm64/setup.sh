#!/usr/bin/env bash
# Set up an aarch64 ONNX Runtime that runs on this x86-64 machine under qemu-user, project-locally:
#
#   .cache/arm64/qemu/       Debian's qemu-user (static binaries), unpacked with dpkg -x (not installed)
#   .cache/arm64/root/       Debian bookworm arm64 CPython 3.11 + glibc closure, unpacked with dpkg -x,
#                            with the aarch64 wheels of onnxruntime and numpy in usr/lib/python3/dist-packages
#   .cache/arm64/downloads/  the .debs, wheels and a private apt state (kept so a re-run is offline)
#   .cache/arm64/runtime.json  what was set up (read by harness/arm64.py); written only after verification
#
# No chroot, no binfmt, no change to the system's apt sources or dpkg architectures: arm64 package
# indexes go into a private apt state under downloads/. Run as: scripts/arm64/setup.sh [--force]
# Idempotent: when runtime.json matches the pins below it only re-verifies (a few seconds).
#
# Why qemu from bookworm-backports: qemu 7.2 (bookworm) does not emulate /proc/cpuinfo for aarch64
# guests, so the guest reads the host's x86 /proc/cpuinfo; pytorch/cpuinfo (inside onnxruntime >= 1.20)
# then finds no ARM processor records and dereferences NULL right after reading the sysfs cache
# topology -> SIGSEGV at `import onnxruntime`. qemu >= 8.1 emulates /proc/cpuinfo; bookworm-backports
# has 10.0. If the mirror does not serve backports we fall back to bookworm's 7.2 and put a fake ARM
# /proc/cpuinfo inside the -L root (qemu 7.2 resolves guest opens of /proc/cpuinfo through -L first).
set -euo pipefail

# ---- pins -------------------------------------------------------------------------------------
ORT_VERSION="${AVA_ARM64_ORT_VERSION:-1.32.0}"     # = the host's onnxruntime pin (pyproject/venv)
NUMPY_VERSION="${AVA_ARM64_NUMPY_VERSION:-2.4.6}"
PY_VERSION=3.11
DEBIAN_SUITE=bookworm
QEMU_SUITE="${AVA_ARM64_QEMU_SUITE:-bookworm-backports}"  # set to "bookworm" to force the 7.2 fallback
DEFAULT_CPU="${AVA_ARM64_CPU:-cortex-a76}"
MIRROR="${AVA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${AVA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ROOT_PACKAGES=(python3.11-minimal libpython3.11-stdlib libstdc++6)
# Only needed by maintainer scripts, which dpkg -x never runs.
SKIP_PACKAGES='^(dpkg|install-info|tar|perl-base|debconf):'
LAYOUT_VERSION=1

# ---- paths ------------------------------------------------------------------------------------
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BASE="${AVA_ARM64_HOME:-$REPO/.cache/arm64}"
DL="$BASE/downloads"
APTDIR="$DL/apt"
ROOT="$BASE/root"
QEMU_DIR="$BASE/qemu"
MANIFEST="$BASE/runtime.json"
HOST_PY="${PYTHON:-$REPO/.venv/bin/python}"
[[ -x "$HOST_PY" ]] || HOST_PY="$(command -v python3)"

FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

step() { printf '\033[1m[arm64-runtime]\033[0m %s\n' "$*"; }
die() { printf '[arm64-runtime] ERROR: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

for tool in apt-get apt-cache dpkg dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool not found (this script needs a Debian-based host)"
done
[[ "$(uname -m)" == "x86_64" ]] || step "note: host is $(uname -m), not x86_64; continuing anyway"
[[ -r "$KEYRING" ]] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
"$HOST_PY" -c "import onnx, onnxruntime, numpy" 2>/dev/null \
    || die "$HOST_PY lacks onnx/onnxruntime/numpy (run \`make install\` first) - needed for verification"

# The pins, as a string: runtime.json records it, and a mismatch means rebuild.
PINS="layout=$LAYOUT_VERSION ort=$ORT_VERSION numpy=$NUMPY_VERSION py=$PY_VERSION suite=$DEBIAN_SUITE qemu_suite=$QEMU_SUITE cpu=$DEFAULT_CPU mirror=$MIRROR"

verify() {  # $1 = manifest to verify
    step "verifying: a tiny ONNX model (Gather+MatMul+Relu FP32, DynamicQuantizeLinear+MatMulInteger INT8) under emulated aarch64 ORT vs host"
    (cd "$REPO" && "$HOST_PY" "$HERE/verify.py" "$1")
}

if [[ $FORCE == 0 && -f "$MANIFEST" ]] && "$HOST_PY" - "$MANIFEST" "$PINS" <<'EOF'
import json, sys
from pathlib import Path
m = json.loads(Path(sys.argv[1]).read_text())
base = Path(sys.argv[1]).parent
ok = m.get("pins") == sys.argv[2] and (base / m["qemu"]).is_file() and (base / m["python"]).is_file()
sys.exit(0 if ok else 1)
EOF
then
    step "already set up at $BASE (pins match: $PINS); re-verifying (use --force to rebuild)"
    verify "$MANIFEST"
    step "ok ($(($(date +%s) - started)) s)"
    exit 0
fi

# ---- private apt state (amd64 + arm64), nothing outside $DL is touched ---------------------------
step "private apt state in $APTDIR (Debian $DEBIAN_SUITE arm64 + qemu from $QEMU_SUITE)"
mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial} "$DL/debs" "$DL/wheels" "$DL/qemu"
cat >"$APTDIR/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $DEBIAN_SUITE main
deb [signed-by=$KEYRING] $MIRROR $DEBIAN_SUITE-updates main
deb [signed-by=$KEYRING] $SECURITY_MIRROR $DEBIAN_SUITE-security main
EOF
if [[ "$QEMU_SUITE" != "$DEBIAN_SUITE" ]]; then
    echo "deb [signed-by=$KEYRING] $MIRROR $QEMU_SUITE main" >>"$APTDIR/sources.list"
fi
: >"$APTDIR/status"
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache" -o "Dir::State::status=$APTDIR/status"
    -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"
)
apt-get "${APT_OPTS[@]}" -qq update || die "apt-get update failed for $MIRROR (is the Debian mirror reachable?)"

# ---- qemu ---------------------------------------------------------------------------------------
qemu_pkg=""
qemu_ver=""
if [[ "$QEMU_SUITE" != "$DEBIAN_SUITE" ]]; then
    # In backports (trixie's packaging) qemu-user holds the static binaries; qemu-user-static is a
    # transitional package that only pulls binfmt registration, which we do not want.
    qemu_ver="$(apt-cache "${APT_OPTS[@]}" madison qemu-user | awk -v s="$QEMU_SUITE/" '$0 ~ s {print $3; exit}')"
    if [[ -n "$qemu_ver" ]]; then
        qemu_pkg=qemu-user
    else
        step "warning: $MIRROR does not serve qemu-user in $QEMU_SUITE; falling back to $DEBIAN_SUITE's qemu 7.2"
        QEMU_SUITE=$DEBIAN_SUITE
    fi
fi
if [[ -z "$qemu_pkg" ]]; then
    qemu_pkg=qemu-user-static
    qemu_ver="$(apt-cache "${APT_OPTS[@]}" madison qemu-user-static | awk -v s="$DEBIAN_SUITE" '$0 ~ s {print $3; exit}')"
    [[ -n "$qemu_ver" ]] || die "no qemu-user-static in $DEBIAN_SUITE on $MIRROR"
fi
step "qemu: $qemu_pkg=$qemu_ver (amd64, unpacked, not installed)"
(cd "$DL/qemu" && apt-get "${APT_OPTS[@]}" -qq download "$qemu_pkg:amd64=$qemu_ver" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
qemu_deb="$(ls -t "$DL/qemu/${qemu_pkg}_"*"_amd64.deb" | head -1)"
[[ -f "$qemu_deb" ]] || die "download of $qemu_pkg failed"
rm -rf "$QEMU_DIR.new" && mkdir -p "$QEMU_DIR.new"
dpkg-deb -x "$qemu_deb" "$QEMU_DIR.new"
qemu_bin=""
for candidate in "$QEMU_DIR.new"/usr/bin/qemu-aarch64 "$QEMU_DIR.new"/usr/bin/qemu-aarch64-static; do
    [[ -x "$candidate" ]] && qemu_bin="$candidate" && break
done
[[ -n "$qemu_bin" ]] || die "no qemu-aarch64 binary in $qemu_deb"
# keep only the aarch64 emulator (saves ~350 MB of other targets)
find "$QEMU_DIR.new/usr/bin" -type f ! -name "$(basename "$qemu_bin")" -delete
rm -rf "$QEMU_DIR" && mv "$QEMU_DIR.new" "$QEMU_DIR"
qemu_bin="$QEMU_DIR/usr/bin/$(basename "$qemu_bin")"
qemu_version_line="$("$qemu_bin" --version | head -1)"
step "qemu: $qemu_version_line"

# ---- arm64 root: python3.11 + dependency closure ------------------------------------------------
step "resolving the arm64 dependency closure of ${ROOT_PACKAGES[*]}"
mapfile -t closure < <(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances "${ROOT_PACKAGES[@]/%/:arm64}" \
    | grep -v '^ ' | grep ':arm64$' | grep -Ev "$SKIP_PACKAGES" | sort -u)
[[ ${#closure[@]} -gt 5 ]] || die "dependency resolution returned only: ${closure[*]}"
step "downloading ${#closure[@]} arm64 .debs into $DL/debs"
rm -f "$DL/debs"/*.deb
(cd "$DL/debs" && apt-get "${APT_OPTS[@]}" -qq download "${closure[@]}" 2>&1 \
    | grep -v '^W: Download is performed unsandboxed' || true)
n_debs=$(ls "$DL/debs"/*.deb | wc -l)
[[ $n_debs -eq ${#closure[@]} ]] || die "downloaded $n_debs of ${#closure[@]} .debs"
rm -rf "$ROOT.new" && mkdir -p "$ROOT.new"
step "unpacking into $ROOT (dpkg -x)"
for deb in "$DL/debs"/*.deb; do dpkg-deb -x "$deb" "$ROOT.new"; done
# not needed at run time
rm -rf "$ROOT.new"/usr/share/{doc,man,info,locale,lintian} "$ROOT.new"/usr/lib/python3.11/test
[[ -x "$ROOT.new/usr/bin/python$PY_VERSION" ]] || die "python$PY_VERSION missing after unpacking"
package_versions="$(for deb in "$DL/debs"/*.deb; do dpkg-deb -f "$deb" Package Version | sed 's/^[A-Za-z]*: //' | paste -sd= ; done)"

# ---- wheels ---------------------------------------------------------------------------------------
SITE_REL=usr/lib/python3/dist-packages  # Debian's site.py adds <prefix>/lib/python3/dist-packages
step "onnxruntime==$ORT_VERSION numpy==$NUMPY_VERSION aarch64 wheels (cp311, manylinux) into /$SITE_REL"
PLATFORM_ARGS=(--platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64
    --platform manylinux_2_28_aarch64 --python-version "$PY_VERSION" --implementation cp
    --abi "cp${PY_VERSION/./}" --only-binary=:all: --no-deps)
"$HOST_PY" -m pip download -q --disable-pip-version-check "${PLATFORM_ARGS[@]}" -d "$DL/wheels" \
    "onnxruntime==$ORT_VERSION" "numpy==$NUMPY_VERSION" 2>&1 | grep -v '^WARNING: Location' || true
# onnxruntime's other requirements (flatbuffers, packaging, protobuf, sympy, coloredlogs) are not
# imported by `import onnxruntime` / InferenceSession.run, so they are left out on purpose.
"$HOST_PY" -m pip install -q --disable-pip-version-check "${PLATFORM_ARGS[@]}" --no-index \
    --find-links "$DL/wheels" --target "$ROOT.new/$SITE_REL" \
    "onnxruntime==$ORT_VERSION" "numpy==$NUMPY_VERSION" 2>&1 | grep -v '^WARNING: Location' || true
[[ -d "$ROOT.new/$SITE_REL/onnxruntime" ]] || die "onnxruntime wheel not installed into the root"
rm -rf "$ROOT.new/$SITE_REL/bin"  # console scripts with the host's shebang

if [[ "$qemu_pkg" == qemu-user-static && "$qemu_ver" == 1:7.* ]]; then
    # See the header: qemu 7.2 leaks the host's x86 /proc/cpuinfo to the guest; give it an ARM one.
    step "qemu 7.2: writing a fake ARM /proc/cpuinfo into the root (cortex-a76-like)"
    mkdir -p "$ROOT.new/proc"
    for ((i = 0; i < $(nproc); i++)); do
        printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' "$i"
    done >"$ROOT.new/proc/cpuinfo"
fi

rm -rf "$ROOT" && mv "$ROOT.new" "$ROOT"

# ---- manifest, verification ----------------------------------------------------------------------
step "writing the manifest and verifying"
"$HOST_PY" - "$MANIFEST.new" <<EOF
import json, sys
# paths are relative to this file's directory, so the checkout can move
manifest = {
    "pins": """$PINS""",
    "root": "${ROOT#$BASE/}",
    "qemu": "${qemu_bin#$BASE/}",
    "qemu_package": "$qemu_pkg=$qemu_ver",
    "qemu_version": """$qemu_version_line""",
    "python": "${ROOT#$BASE/}/usr/bin/python$PY_VERSION",
    "site": "${ROOT#$BASE/}/$SITE_REL",
    "onnxruntime_version": "$ORT_VERSION",
    "numpy_version": "$NUMPY_VERSION",
    "default_cpu": "$DEFAULT_CPU",
    "debian_packages": """$package_versions""".split(),
}
with open(sys.argv[1], "w") as f:
    json.dump(manifest, f, indent=2)
EOF
verify "$MANIFEST.new"
mv "$MANIFEST.new" "$MANIFEST"
step "disk: $(du -sh "$ROOT" | cut -f1) root, $(du -sh "$QEMU_DIR" | cut -f1) qemu, $(du -sh "$DL" | cut -f1) downloads"
step "done in $(($(date +%s) - started)) s: $MANIFEST"
