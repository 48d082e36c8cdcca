// ava-harness sign-off tests: what the AVA app's module build.gradle.kts (e.g. app/build.gradle.kts)
// needs. Merge these blocks into the existing ones; see device_tests/android/README.md.
//
// Versions: the ones the stubs in device_tests/android/stubs/ mirror. Newer patch/minor versions of
// the same artifacts keep these APIs.

android {
    defaultConfig {
        // `am instrument ... com.augmentalis.ava.test/androidx.test.runner.AndroidJUnitRunner`
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        // The test APK's package is <applicationId>.test by default: com.augmentalis.ava.test.
    }

    sourceSets {
        // Either copy device_tests/android/src/androidTest/kotlin into app/src/androidTest/kotlin, or
        // point Gradle at a checkout of ava-harness (path relative to this module):
        getByName("androidTest") {
            java.srcDir("../../ava-harness/device_tests/android/src/androidTest/kotlin")
        }
    }

    // Keep debug builds debuggable (the default) so `run-as` works for the storage fallback.
    // The harness runs debug builds: installDebug + installDebugAndroidTest.
}

dependencies {
    // The app most likely has this already (its ONNXEmbeddingProvider uses it). The sign-off opens
    // its own OrtSession on the same file for model parity.
    // 1.32.0: the ONNX Runtime the host's reference and the arm64 reference run, so the device's
    // output is held against the same release's kernels. The quantization recipes need at least
    // 1.23.0 (weight-only INT8: MatMulNBits bits=8 has its ARM64 kernel from 1.23.0; 8-bit
    // GatherBlockQuantized embeddings too); INT4 MatMulNBits needs 1.17.0 and opset 21 needs
    // 1.18.0. `deploy-test` reads this pin as the device's version (--device-ort-version) and
    // refuses a model that needs a newer one before pushing it (harness/models/compatibility.py).
    implementation("com.microsoft.onnxruntime:onnxruntime-android:1.32.0")

    // Instrumentation runner, JUnit 4, and the Parameterized runner the sign-off uses.
    androidTestImplementation("androidx.test:runner:1.6.2")
    androidTestImplementation("androidx.test:rules:1.6.1")
    androidTestImplementation("androidx.test.ext:junit:1.2.1")
    androidTestImplementation("junit:junit:4.13.2")

    // runBlocking around the provider's suspend functions.
    androidTestImplementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
