#!/usr/bin/env bash
# Builds ai.onnxruntime for the JVM (jvm-runtime/README.md): the onnxruntime-android API subset the
# Kotlin device side uses, over the real ONNX Runtime C API through JNA.
# Idempotent: libonnxruntime comes once from the npm package onnxruntime-node into
# .tools/ort-node/ (git-ignored; a prefix of its own, because npm prunes what it did not install
# from a prefix, i.e. build.sh's kotlin-compiler); a build whose inputs hash to build/.stamp-ort is skipped.
# Outputs (in device_tests/android/build/):
#   ort-jvm.jar          ai.onnxruntime (needs JNA at run time: /usr/share/java/jna.jar)
#   ort-jvm.properties   library=<libonnxruntime.so.1 for this machine's arch>, library.<arch>=..., version=, jna=
#                        (the jar reads it from beside itself; -Dai.onnxruntime.library overrides)
#   ort-check.jar        OrtCheck, the check program tests/android_jvm/test_ort_jvm.py runs
# Prints one line (to stderr) on success. Usage: device_tests/android/jvm-runtime/build-ort.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ANDROID="$(dirname "$HERE")"
ORT_VERSION="1.30.0"
TOOLS="$ANDROID/.tools/ort-node"
PKG="$TOOLS/node_modules/onnxruntime-node"
BUILD="$ANDROID/build"
JNA="${JNA_JAR:-/usr/share/java/jna.jar}"

log() { echo "[device_tests/android] $*" >&2; }

for tool in java javac jar npm; do
    command -v "$tool" >/dev/null || { log "error: $tool not found (needs a JDK 17+ and npm)"; exit 1; }
done
[ -f "$JNA" ] || { log "error: JNA not found at $JNA (Debian package libjna-java; make system-deps)"; exit 1; }

# One build at a time (build.sh and the tests both call this script): the others wait, then see the stamp.
mkdir -p "$ANDROID/.tools"
if command -v flock >/dev/null; then exec 9>"$ANDROID/.tools/.build-ort.lock"; flock 9; fi

installed_version() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG/package.json" 2>/dev/null | head -1; }
if [ "$(installed_version)" != "$ORT_VERSION" ]; then
    mkdir -p "$TOOLS"
    # Quiet on success (one line in all); npm's output is shown only if the install fails.
    NPM_LOG="$(mktemp)"
    if ! npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
        "onnxruntime-node@$ORT_VERSION" >"$NPM_LOG" 2>&1; then
        cat "$NPM_LOG" >&2; rm -f "$NPM_LOG"
        log "error: npm install onnxruntime-node@$ORT_VERSION into $TOOLS failed"; exit 1
    fi
    rm -f "$NPM_LOG"
    [ "$(installed_version)" = "$ORT_VERSION" ] || { log "error: onnxruntime-node $ORT_VERSION not installed in $TOOLS"; exit 1; }
fi

# onnxruntime-node's layout: bin/napi-v<N>/linux/<x64|arm64>/libonnxruntime.so.1
lib_for() { find "$PKG/bin" -path "*/linux/$1/libonnxruntime.so.1" 2>/dev/null | LC_ALL=C sort | tail -1; }
LIB_X64="$(lib_for x64)"
LIB_ARM64="$(lib_for arm64)"
case "$(uname -m)" in
    x86_64) LIB="$LIB_X64" ;;
    aarch64 | arm64) LIB="$LIB_ARM64" ;;
    *) LIB="" ;;
esac
[ -n "$LIB" ] && [ -f "$LIB" ] || { log "error: no libonnxruntime.so.1 for $(uname -m) in $PKG/bin"; exit 1; }

STAMP="$BUILD/.stamp-ort"
inputs_hash() {
    {
        echo "onnxruntime-node $ORT_VERSION $LIB"
        java -version 2>&1 | head -1
        sha256sum "$JNA" | cut -d' ' -f1
        cd "$HERE" && find build-ort.sh ort -type f -name '*.java' -o -name '*.sh' -type f | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}
HASH="$(inputs_hash)"
OUTPUTS=("$BUILD/ort-jvm.jar" "$BUILD/ort-jvm.properties" "$BUILD/ort-check.jar")
if [ "${1:-}" != "--force" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; then
    all=1; for f in "${OUTPUTS[@]}"; do [ -f "$f" ] || all=0; done
    if [ "$all" = 1 ]; then log "ort-jvm: up to date (ONNX Runtime $ORT_VERSION, $LIB)"; exit 0; fi
fi

START=$SECONDS
mkdir -p "$BUILD"
T="$(mktemp -d "$BUILD/.ort-tmp.XXXXXX")"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/classes" "$T/check"
# --release 8: the Kotlin sources compile with -jvm-target 1.8 against this jar.
javac -nowarn --release 8 -Xlint:-options -cp "$JNA" -d "$T/classes" $(find "$HERE/ort/src" -name '*.java' | LC_ALL=C sort)
jar --create --file "$T/ort-jvm.jar" -C "$T/classes" .
javac -nowarn --release 8 -Xlint:-options -cp "$JNA:$T/ort-jvm.jar" -d "$T/check" "$HERE/ort/check/OrtCheck.java"
jar --create --file "$T/ort-check.jar" -C "$T/check" .
{
    echo "# written by jvm-runtime/build-ort.sh"
    echo "library=$LIB"
    [ -n "$LIB_X64" ] && echo "library.x86_64=$LIB_X64"
    [ -n "$LIB_ARM64" ] && echo "library.aarch64=$LIB_ARM64"
    echo "version=$ORT_VERSION"
    echo "jna=$JNA"
} > "$T/ort-jvm.properties"
echo "$HASH" > "$T/.stamp-ort"
# Renames, so a concurrent reader sees either the old or the new file, never half of one.
for f in ort-jvm.jar ort-jvm.properties ort-check.jar .stamp-ort; do mv -f "$T/$f" "$BUILD/$f"; done
log "ort-jvm: built in $((SECONDS - START)) s (ONNX Runtime $ORT_VERSION, $LIB)"
