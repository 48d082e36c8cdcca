// The run listener AndroidJUnitRunner installs (androidx.test.internal.runner.listener.
// InstrumentationResultPrinter, runner 1.6): a status bundle when a test starts (code 1) and when
// it ends (0 passed, -2 failed with its stack, -3 ignored, -4 assumption failure), the class name
// in `stream` when a new class starts, the JUnit summary in the final stream, and the report of
// the running test when the process crashes.
package com.augmentalis.ava.jvm;

import android.app.Instrumentation;
import android.os.Bundle;
import java.io.PrintStream;
import org.junit.internal.TextListener;
import org.junit.runner.Description;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

@RunListener.ThreadSafe
final class ResultPrinter extends RunListener {
    static final String REPORT_VALUE_ID = "AndroidJUnitRunner";
    static final int START = 1;
    static final int OK = 0;
    static final int FAILURE = -2;
    static final int IGNORED = -3;
    static final int ASSUMPTION_FAILURE = -4;
    private static final int MAX_TRACE_SIZE = 64 * 1024;  // androidx's cap on a stack in a bundle

    private final Instrumentation instrumentation;
    private final Bundle resultTemplate = new Bundle();
    private Bundle testResult = new Bundle();
    private int testNum;
    private int testResultCode = -999;
    private String testClass;
    private Description description = Description.EMPTY;
    private boolean running;

    ResultPrinter(Instrumentation instrumentation) { this.instrumentation = instrumentation; }

    @Override
    public synchronized void testRunStarted(Description description) {
        resultTemplate.putString("id", REPORT_VALUE_ID);
        resultTemplate.putInt("numtests", description.testCount());
    }

    @Override
    public synchronized void testStarted(Description description) {
        this.description = description;
        String className = description.getClassName();
        testResult = new Bundle(resultTemplate);
        testResult.putString("class", className);
        testResult.putString("test", description.getMethodName());
        testResult.putInt("current", ++testNum);
        if (className != null && !className.equals(testClass)) {
            testResult.putString("stream", String.format("\n%s:", className));
            testClass = className;
        } else {
            testResult.putString("stream", "");
        }
        instrumentation.sendStatus(START, testResult);
        testResultCode = OK;
        running = true;
    }

    @Override
    public synchronized void testFinished(Description description) {
        if (testResultCode == OK) testResult.putString("stream", ".");
        instrumentation.sendStatus(testResultCode, testResult);
        running = false;
    }

    @Override
    public synchronized void testFailure(Failure failure) {
        boolean shouldCallFinish = false;
        if (description.equals(Description.EMPTY) && testNum == 0 && testClass == null) {
            // JUnit failed before any test started (an initializationError): report it as a test.
            testStarted(failure.getDescription());
            shouldCallFinish = true;
        }
        testResultCode = FAILURE;
        reportFailure(failure);
        if (shouldCallFinish) testFinished(failure.getDescription());
    }

    @Override
    public synchronized void testAssumptionFailure(Failure failure) {
        testResultCode = ASSUMPTION_FAILURE;
        testResult.putString("stack", failure.getTrace());
    }

    @Override
    public synchronized void testIgnored(Description description) {
        testStarted(description);
        testResultCode = IGNORED;
        testFinished(description);
    }

    private void reportFailure(Failure failure) {
        String trace = failure.getTrace();
        if (trace.length() > MAX_TRACE_SIZE) trace = trace.substring(0, MAX_TRACE_SIZE) + "\n";
        testResult.putString("stack", trace);
        testResult.putString("stream", String.format("\nError in %s:\n%s", failure.getDescription().getDisplayName(), trace));
    }

    /** The process is about to die of `t`: the running test (if any) fails with it. */
    synchronized void reportProcessCrash(Throwable t) {
        if (!running) return;
        testResultCode = FAILURE;
        Failure failure = new Failure(description, t);
        testResult.putString("stack", failure.getTrace());
        testResult.putString("stream", String.format("\nProcess crashed while executing %s:\n%s",
            description.getDisplayName(), failure.getTrace()));
        testFinished(description);
    }

    /** The final stream: JUnit's own TextListener summary (Time, failures, OK/FAILURES!!!). */
    void instrumentationRunFinished(PrintStream summary, Result result) {
        new TextListener(summary).testRunFinished(result);
    }
}
