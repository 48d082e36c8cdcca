#!/usr/bin/env bash
# Compiles the reference app (src/main), its sign-off adapter (src/androidTest) and the JVM check
# tools (jvm/) into device_tests/android/build/app-checks.jar, for tests/android_jvm/. Runs
# ../build.sh first (kotlinc, the stub jars, androidTest.jar). Skipped when the inputs hash to
# build/app-checks.stamp. Prints the jar's path.
# Usage: device_tests/android/app/jvm/build-checks.sh [--force]
set -euo pipefail

APP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANDROID="$(dirname "$APP")"
BUILD="$ANDROID/build"
KOTLINC="$ANDROID/.tools/node_modules/kotlin-compiler/bin/kotlinc"
JAR="$BUILD/app-checks.jar"
STAMP="$BUILD/app-checks.stamp"

"$ANDROID/build.sh" >&2

inputs_hash() {
    {
        cat "$ANDROID/.tools/node_modules/kotlin-compiler/build.txt"
        sha256sum "$BUILD/android-stubs.jar" "$BUILD/org-json.jar" "$BUILD/androidTest.jar" | cut -d' ' -f1
        cd "$APP" && find src jvm -type f \( -name '*.kt' -o -name '*.sh' \) | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}
HASH="$(inputs_hash)"
if [ "${1:-}" != "--force" ] && [ -f "$JAR" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; then
    echo "$JAR"
    exit 0
fi

echo "[device_tests/android/app] kotlinc: reference app, adapter and check tools" >&2
TMP="$BUILD/.app-checks-$$.jar"
trap 'rm -f "$TMP"' EXIT
# The same options as build.sh: the sources must build with the Kotlin an app already uses (2.0+).
"$KOTLINC" -Werror -Xsuppress-version-warnings -no-reflect -jvm-target 1.8 -language-version 2.0 -api-version 2.0 \
    -cp "$BUILD/android-stubs.jar:$BUILD/org-json.jar:$BUILD/androidTest.jar" -d "$TMP" \
    $(find "$APP/src" "$APP/jvm" -name '*.kt' | LC_ALL=C sort)
mv "$TMP" "$JAR"
echo "$HASH" > "$STAMP"
echo "$JAR"
