#!/usr/bin/env bash
# Compiles the Kotlin sign-off tests against the stub jars, and the JVM round-trip tool.
# Idempotent: the Kotlin compiler comes once from the npm registry into .tools/ (git-ignored);
# a build whose inputs (sources, stubs, this script, compiler version) hash to the stamp in
# build/.stamp is skipped. Outputs:
#   build/android-stubs.jar    android/androidx/JUnit/onnxruntime compile-only stubs
#   build/org-json.jar         working org.json stand-in (also on the round-trip classpath)
#   build/androidTest.jar      the androidTest sources, compiled (proves they compile)
#   build/roundtrip.jar        FormatRoundTrip + the JVM-only helpers
#   build/classpath            runtime classpath of FormatRoundTrip (for `java -cp`)
# Usage: device_tests/android/build.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KOTLIN_VERSION="2.4.20"
TOOLS="$HERE/.tools"
BUILD="$HERE/build"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
SRC="$HERE/src/androidTest/kotlin/com/augmentalis/ava/harness"
# The helpers that must run on a plain JVM: no Android, androidx, JUnit or onnxruntime class.
JVM_HELPERS=(RequestReader.kt NpyWriter.kt ResultWriter.kt AtomicFiles.kt SignoffMath.kt)

log() { echo "[device_tests/android] $*" >&2; }

for tool in java javac jar npm; do
    command -v "$tool" >/dev/null || { log "error: $tool not found (needs a JDK 17+ and npm)"; exit 1; }
done

installed_version() { [ -x "$KOTLINC" ] && cat "$KOTLIN_HOME/build.txt" 2>/dev/null || true; }
if [ "$(installed_version)" != "$KOTLIN_VERSION" ]; then
    log "installing kotlin-compiler@$KOTLIN_VERSION from npm into $TOOLS ..."
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error \
        "kotlin-compiler@$KOTLIN_VERSION" >&2
    [ "$(installed_version)" = "$KOTLIN_VERSION" ] || { log "error: kotlinc $KOTLIN_VERSION not usable at $KOTLINC"; exit 1; }
fi

STAMP="$BUILD/.stamp"
inputs_hash() {
    {
        echo "kotlin $KOTLIN_VERSION"
        java -version 2>&1 | head -1
        cd "$HERE" && find build.sh stubs src jvm -type f \( -name '*.java' -o -name '*.kt' -o -name '*.sh' \) \
            | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}
HASH="$(inputs_hash)"
OUTPUTS=("$BUILD/android-stubs.jar" "$BUILD/org-json.jar" "$BUILD/androidTest.jar" "$BUILD/roundtrip.jar" "$BUILD/classpath")
if [ "${1:-}" != "--force" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; then
    all=1; for f in "${OUTPUTS[@]}"; do [ -f "$f" ] || all=0; done
    if [ "$all" = 1 ]; then log "up to date (inputs $HASH)"; exit 0; fi
fi

rm -rf "$BUILD.tmp" && mkdir -p "$BUILD.tmp"
T="$BUILD.tmp"
START=$SECONDS

log "javac: stubs"
mkdir -p "$T/org-json" "$T/android-stubs"
javac -nowarn --release 8 -Xlint:-options -d "$T/org-json" $(find "$HERE/stubs/org-json" -name '*.java' | LC_ALL=C sort)
jar --create --file "$T/org-json.jar" -C "$T/org-json" .
javac -nowarn --release 8 -Xlint:-options -d "$T/android-stubs" $(find "$HERE/stubs/android" -name '*.java' | LC_ALL=C sort)
jar --create --file "$T/android-stubs.jar" -C "$T/android-stubs" .

LIB="$KOTLIN_HOME/lib"
# Language/API 2.0: the sources must also build with the Kotlin an app already uses (2.0+).
KOTLINC_OPTS=(-Werror -Xsuppress-version-warnings -no-reflect -jvm-target 1.8 -language-version 2.0 -api-version 2.0)

log "kotlinc $KOTLIN_VERSION: androidTest sources against the stubs"
"$KOTLINC" "${KOTLINC_OPTS[@]}" \
    -cp "$T/android-stubs.jar:$T/org-json.jar:$LIB/kotlinx-coroutines-core-jvm.jar" \
    -d "$T/androidTest.jar" "$SRC"/*.kt

log "kotlinc $KOTLIN_VERSION: FormatRoundTrip + JVM helpers (org.json only on the classpath)"
helpers=(); for f in "${JVM_HELPERS[@]}"; do helpers+=("$SRC/$f"); done
"$KOTLINC" "${KOTLINC_OPTS[@]}" -cp "$T/org-json.jar" -d "$T/roundtrip.jar" "${helpers[@]}" "$HERE/jvm/FormatRoundTrip.kt"

echo "$BUILD/roundtrip.jar:$BUILD/org-json.jar:$LIB/kotlin-stdlib.jar" > "$T/classpath"
echo "$HASH" > "$T/.stamp"
rm -rf "$BUILD" && mv "$T" "$BUILD"
log "built in $((SECONDS - START)) s"
