// Fault injection for the virtual device's tests (`-e ava.jvm.fault <spec>`): an uncaught exception
// on a thread of the app process, the way an app's background work crashes a phone's process.
//   crash-in:<method>     while the first test whose method name starts with <method> runs
//   crash-after:<method>  after that test finished, before the next one starts (outside any test)
// Nothing else in the launcher changes: the process's own crash path reports it.
package com.augmentalis.ava.jvm;

import org.junit.runner.Description;
import org.junit.runner.notification.RunListener;

final class FaultListener extends RunListener {
    static final String ARG = "ava.jvm.fault";
    private final boolean during;
    private final String method;
    private boolean fired;

    private FaultListener(boolean during, String method) {
        this.during = during;
        this.method = method;
    }

    /** The listener for a spec, or null for none; a malformed spec is the caller's mistake. */
    static FaultListener parse(String spec) {
        if (spec == null || spec.isEmpty()) return null;
        String[] parts = spec.split(":", 2);
        if (parts.length == 2 && !parts[1].isEmpty() && (parts[0].equals("crash-in") || parts[0].equals("crash-after"))) {
            return new FaultListener(parts[0].equals("crash-in"), parts[1]);
        }
        throw new IllegalArgumentException("-e " + ARG + " " + spec + ": use crash-in:<method> or crash-after:<method>");
    }

    @Override
    public void testStarted(Description description) throws InterruptedException {
        if (during) maybeCrash(description);
    }

    @Override
    public void testFinished(Description description) throws InterruptedException {
        if (!during) maybeCrash(description);
    }

    private void maybeCrash(Description description) throws InterruptedException {
        String name = description.getMethodName();
        if (fired || name == null || !name.startsWith(method)) return;
        fired = true;
        String where = (during ? "while " : "after ") + name + " ran";
        Thread worker = new Thread(() -> {
            throw new IllegalStateException("fault injected by -e " + ARG + ": uncaught exception " + where);
        }, "ava-fault");
        worker.start();
        worker.join();
        Thread.sleep(Long.MAX_VALUE);  // the crash handler ends the process
    }
}
