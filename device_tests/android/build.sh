#!/usr/bin/env bash
# Compiles the Kotlin sign-off tests against the stub jars, the JVM round-trip tool, and the
# Kotlin device side as a JVM app (README.md, "The Kotlin app on a JVM").
# Idempotent: the Kotlin compiler comes once from the npm registry into .tools/ (git-ignored);
# a build whose inputs (sources, stubs, runtime shims, the app, ort-jvm.jar, this script, compiler
# version) hash to the stamp in build/.stamp is skipped. Outputs:
#   build/android-stubs.jar    android/androidx/JUnit/onnxruntime compile-only stubs
#   build/org-json.jar         working org.json stand-in (also on the round-trip classpath)
#   build/androidTest.jar      the androidTest sources, compiled (proves they compile)
#   build/roundtrip.jar        FormatRoundTrip + the JVM-only helpers
#   build/classpath            runtime classpath of FormatRoundTrip (for `java -cp`)
# and, when JUnit 4, hamcrest and JNA are installed (make system-deps):
#   build/android-runtime.jar  jvm-runtime/android (working Android shims) + jvm-runtime/launcher
#   build/jvm-app.jar          androidTest sources + app/src (reference app and its adapter), compiled
#                              against the shims, real JUnit 4 and ort-jvm.jar (jvm-runtime/build-ort.sh)
#   build/jvm-classpath        runtime classpath of the JVM app (main: com.augmentalis.ava.jvm.InstrumentationMain)
# Other scripts' outputs in build/ (ort-jvm.*, app-checks.*) are left alone.
# Usage: device_tests/android/build.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KOTLIN_VERSION="2.4.20"
TOOLS="$HERE/.tools"
BUILD="$HERE/build"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
SRC="$HERE/src/androidTest/kotlin/com/augmentalis/ava/harness"
RUNTIME="$HERE/jvm-runtime"
APP="$HERE/app/src"
JAVA_LIBS=/usr/share/java
JVM_DEPS=("$JAVA_LIBS/junit4.jar" "$JAVA_LIBS/hamcrest-core.jar" "$JAVA_LIBS/jna.jar")
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

# The JVM app needs JUnit 4, hamcrest and JNA (Debian packages); without them only the stub builds run.
JVM_APP=1
for f in "${JVM_DEPS[@]}"; do [ -f "$f" ] || JVM_APP=0; done
[ "$JVM_APP" = 1 ] || log "warning: ${JVM_DEPS[*]} not all installed (make system-deps): no JVM app"
# ai.onnxruntime over the real C API (H6's script, idempotent itself); the ORT stubs otherwise.
ORT_JAR=""
if [ "$JVM_APP" = 1 ] && [ -x "$RUNTIME/build-ort.sh" ]; then
    "$RUNTIME/build-ort.sh" && ORT_JAR="$BUILD/ort-jvm.jar"
fi

STAMP="$BUILD/.stamp"
inputs_hash() {
    {
        echo "kotlin $KOTLIN_VERSION jvm-app $JVM_APP"
        java -version 2>&1 | head -1
        [ -n "$ORT_JAR" ] && sha256sum "$ORT_JAR" | cut -d' ' -f1
        cd "$HERE" || exit 1
        local dirs=(); for d in build.sh stubs src jvm jvm-runtime/android jvm-runtime/launcher app/src; do
            if [ -e "$d" ]; then dirs+=("$d"); fi
        done
        find "${dirs[@]}" -type f \( -name '*.java' -o -name '*.kt' -o -name '*.sh' \) | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}
HASH="$(inputs_hash)"
OUTPUTS=("$BUILD/android-stubs.jar" "$BUILD/org-json.jar" "$BUILD/androidTest.jar" "$BUILD/roundtrip.jar" "$BUILD/classpath")
if [ "$JVM_APP" = 1 ]; then OUTPUTS+=("$BUILD/android-runtime.jar" "$BUILD/jvm-app.jar" "$BUILD/jvm-classpath"); fi
if [ "${1:-}" != "--force" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; then
    all=1; for f in "${OUTPUTS[@]}"; do [ -f "$f" ] || all=0; done
    if [ "$all" = 1 ]; then log "up to date (inputs $HASH)"; exit 0; fi
fi

mkdir -p "$BUILD"
T="$(mktemp -d "$BUILD/.main-tmp.XXXXXX")"
trap 'rm -rf "$T"' EXIT
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

if [ "$JVM_APP" = 1 ]; then
    JUNIT="$JAVA_LIBS/junit4.jar:$JAVA_LIBS/hamcrest-core.jar"
    log "javac: Android runtime shims + launcher (jvm-runtime/android, jvm-runtime/launcher)"
    mkdir -p "$T/android-runtime"
    javac -nowarn --release 11 -Xlint:-options -cp "$T/org-json.jar:$JUNIT" -d "$T/android-runtime" \
        $(find "$RUNTIME/android" "$RUNTIME/launcher" -name '*.java' | LC_ALL=C sort)
    jar --create --file "$T/android-runtime.jar" -C "$T/android-runtime" .
    ORT_CP="$ORT_JAR"
    if [ -z "$ORT_CP" ]; then  # no real ORT: the stubs, so that everything else still runs
        log "warning: no ort-jvm.jar (jvm-runtime/build-ort.sh): the JVM app gets the ORT stubs"
        mkdir -p "$T/ort-stubs" && cp -r "$T/android-stubs/ai" "$T/ort-stubs/"
        jar --create --file "$T/ort-stubs.jar" -C "$T/ort-stubs" .
        ORT_CP="$BUILD/ort-stubs.jar"
    fi
    app_sources=(); [ -d "$APP" ] && mapfile -t app_sources < <(find "$APP" -name '*.kt' | LC_ALL=C sort)
    ort_name="ORT stubs"; [ -n "$ORT_JAR" ] && ort_name="ort-jvm.jar"
    log "kotlinc $KOTLIN_VERSION: the JVM app (androidTest + ${#app_sources[@]} app source(s)) against the shims, JUnit 4, $ort_name"
    "$KOTLINC" "${KOTLINC_OPTS[@]}" \
        -cp "$T/android-runtime.jar:$T/org-json.jar:$JUNIT:$LIB/kotlinx-coroutines-core-jvm.jar:${ORT_JAR:-$T/ort-stubs.jar}" \
        -d "$T/jvm-app.jar" "$SRC"/*.kt "${app_sources[@]}"
    cp_entries=("$BUILD/jvm-app.jar" "$BUILD/android-runtime.jar" "$BUILD/org-json.jar" "$JAVA_LIBS/junit4.jar"
        "$JAVA_LIBS/hamcrest-core.jar" "$LIB/kotlin-stdlib.jar" "$LIB/kotlinx-coroutines-core-jvm.jar" "$ORT_CP"
        "$JAVA_LIBS/jna.jar")
    (IFS=:; echo "${cp_entries[*]}") > "$T/jvm-classpath"
fi

echo "$HASH" > "$T/.stamp"
# Renames, one output at a time: the other scripts' files in build/ stay.
rm -f "$BUILD/ort-stubs.jar"
for f in android-stubs.jar org-json.jar androidTest.jar roundtrip.jar classpath android-runtime.jar jvm-app.jar \
    jvm-classpath ort-stubs.jar .stamp; do
    if [ -e "$T/$f" ]; then mv -f "$T/$f" "$BUILD/$f"; fi
done
rm -rf "$BUILD/android-stubs" "$BUILD/org-json"  # class dirs of older builds
log "built in $((SECONDS - START)) s"
