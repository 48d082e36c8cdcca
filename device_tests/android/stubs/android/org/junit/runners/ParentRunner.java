// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runners;

import org.junit.runner.Description;
import org.junit.runner.Runner;
import org.junit.runner.notification.RunNotifier;
import org.junit.runners.model.InitializationError;

public abstract class ParentRunner<T> extends Runner {
    protected ParentRunner(Class<?> testClass) throws InitializationError { throw new RuntimeException("Stub!"); }
    @Override public Description getDescription() { throw new RuntimeException("Stub!"); }
    @Override public void run(RunNotifier notifier) { throw new RuntimeException("Stub!"); }
}
