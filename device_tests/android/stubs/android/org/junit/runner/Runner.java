// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runner;

import org.junit.runner.notification.RunNotifier;

public abstract class Runner implements Describable {
    public Runner() {}
    public abstract Description getDescription();
    public abstract void run(RunNotifier notifier);
    public int testCount() { throw new RuntimeException("Stub!"); }
}
