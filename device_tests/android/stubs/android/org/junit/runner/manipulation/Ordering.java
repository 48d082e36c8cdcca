// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runner.manipulation;

import java.util.Collection;
import java.util.List;
import org.junit.runner.Description;

public abstract class Ordering {
    public Ordering() {}
    public void apply(Object target) throws InvalidOrderingException { throw new RuntimeException("Stub!"); }
    protected abstract List<Description> orderItems(Collection<Description> descriptions);

    public interface Factory {
        Ordering create(Context context);
    }

    public static class Context {
        private Context() { throw new RuntimeException("Stub!"); }
        public Description getTarget() { throw new RuntimeException("Stub!"); }
    }
}
