// Compile-only stub (see device_tests/android/stubs/README.md): public signatures of the members
// the sign-off sources use, copied from the real API (JUnit 4.13.2); bodies throw.
package org.junit.runner;

import java.io.Serializable;
import java.lang.annotation.Annotation;
import java.util.ArrayList;

public class Description implements Serializable {
    private Description() { throw new RuntimeException("Stub!"); }
    public String getDisplayName() { throw new RuntimeException("Stub!"); }
    public ArrayList<Description> getChildren() { throw new RuntimeException("Stub!"); }
    public String getClassName() { throw new RuntimeException("Stub!"); }
    public String getMethodName() { throw new RuntimeException("Stub!"); }
    public <T extends Annotation> T getAnnotation(Class<T> annotationType) { throw new RuntimeException("Stub!"); }
}
