// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runners.model;

public class InitializationError extends Exception {
    public InitializationError(String string) { throw new RuntimeException("Stub!"); }
}
