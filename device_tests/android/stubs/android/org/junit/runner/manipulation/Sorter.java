// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runner.manipulation;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.junit.runner.Description;

public class Sorter extends Ordering implements Comparator<Description> {
    public Sorter(Comparator<Description> comparator) { throw new RuntimeException("Stub!"); }
    @Override public void apply(Object target) { throw new RuntimeException("Stub!"); }
    public int compare(Description o1, Description o2) { throw new RuntimeException("Stub!"); }
    @Override protected final List<Description> orderItems(Collection<Description> descriptions) { throw new RuntimeException("Stub!"); }
}
