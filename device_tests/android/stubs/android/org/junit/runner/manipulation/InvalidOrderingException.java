// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runner.manipulation;

public class InvalidOrderingException extends Exception {
    public InvalidOrderingException() { throw new RuntimeException("Stub!"); }
    public InvalidOrderingException(String message) { throw new RuntimeException("Stub!"); }
}
