// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runners;

import java.util.List;
import org.junit.runner.Runner;
import org.junit.runners.model.InitializationError;

public class Suite extends ParentRunner<Runner> {
    protected Suite(Class<?> klass, List<Runner> runners) throws InitializationError { super(klass); }
}
