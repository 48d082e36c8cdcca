// The instrumentation process of the Kotlin sign-off on a JVM: what `am instrument` starts on a
// phone (the app's process with AndroidJUnitRunner in it), for the virtual device. One JVM per run.
//
//   java -cp <classpath> com.augmentalis.ava.jvm.InstrumentationMain <run-config.json>
//
// The config (DeviceEnv) holds the -e arguments, the device's props and storage mounts. stdout is
// `am instrument -r`'s output as it is produced; stderr carries the logcat records (Logcat). The
// process ends after INSTRUMENTATION_CODE; a process that ends without it crashed, and the glue
// prints am's "Process crashed." for it, as am does when an app process dies.
package com.augmentalis.ava.jvm;

import android.app.Instrumentation;
import android.os.Bundle;
import android.util.Log;
import androidx.test.platform.app.InstrumentationRegistry;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Request;
import org.junit.runner.Result;
import org.junit.runner.manipulation.Filter;

public final class InstrumentationMain {
    static final String LOG_TAG = "TestRunner";
    static final String DEFAULT_CLASS = "com.augmentalis.ava.harness.EmbeddingSignoffTest";
    /** A factory class for SignoffProviders.register (the custom-runner route); optional. */
    static final String ARG_PROVIDER_FACTORY = "ava.jvm.providerFactory";
    static final int EXIT_CRASHED = 10;  // what Process.killProcess leaves: no INSTRUMENTATION_CODE
    private static volatile ResultPrinter printer;

    private InstrumentationMain() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length != 1) {
            System.err.println("usage: InstrumentationMain <run-config.json>");
            System.exit(2);
        }
        PrintStream am = AmChannel.stdout();
        AmChannel.open(am);
        System.setOut(new PrintStream(new LogStream(Log.INFO, "System.out"), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new LogStream(Log.WARN, "System.err"), true, StandardCharsets.UTF_8));
        Thread.setDefaultUncaughtExceptionHandler(InstrumentationMain::crash);
        watchParent();
        DeviceEnv env = DeviceEnv.load(new File(argv[0]));
        Thread instr = new Thread(() -> run(env), "Instr: " + env.runner());
        instr.start();
        instr.join();
        Runtime.getRuntime().halt(AmChannel.finished() ? 0 : EXIT_CRASHED);
    }

    /** AndroidJUnitRunner.onCreate + onStart: register, build the request, run, finish. */
    private static void run(DeviceEnv env) {
        Bundle arguments = new Bundle();
        for (Map.Entry<String, String> arg : env.args().entrySet()) {
            // The process sees the device's files at their host paths (DeviceEnv's mounts).
            String host = arg.getValue().startsWith("/") ? env.toHost(arg.getValue()) : null;
            arguments.putString(arg.getKey(), host != null ? host : arg.getValue());
        }
        Instrumentation instrumentation =
            new Instrumentation(new AppContext(env.testPackage()), new AppContext(env.targetPackage()));
        InstrumentationRegistry.registerInstance(instrumentation, arguments);
        Bundle results = new Bundle();
        try {
            registerProviderFactory(arguments.getString(ARG_PROVIDER_FACTORY));
            ResultPrinter listener = new ResultPrinter(instrumentation);
            printer = listener;
            JUnitCore core = new JUnitCore();
            core.addListener(listener);
            FaultListener fault = FaultListener.parse(arguments.getString(FaultListener.ARG));
            if (fault != null) core.addListener(fault);  // after the printer: it sees the test start first
            Request request = buildRequest(arguments.getString("class", DEFAULT_CLASS));
            Log.i(LOG_TAG, "Running tests with " + env.runner() + " on a JVM (" + System.getProperty("java.version") + ")");
            Result result = core.run(request);
            ByteArrayOutputStream summary = new ByteArrayOutputStream();
            PrintStream summaryStream = new PrintStream(summary, true, StandardCharsets.UTF_8);
            listener.instrumentationRunFinished(summaryStream, result);
            summaryStream.flush();
            results.putString("stream", String.format("\n%s", summary.toString(StandardCharsets.UTF_8)));
        } catch (RuntimeException e) {
            String msg = "Fatal exception when running tests";
            Log.e(LOG_TAG, msg, e);
            results.putString("stream", msg + "\n" + Log.getStackTraceString(e));
        }
        instrumentation.finish(-1, results);  // Activity.RESULT_OK
    }

    private static void registerProviderFactory(String className) {
        if (className == null || className.isEmpty()) return;
        try {
            Object factory = Class.forName(className).getDeclaredConstructor().newInstance();
            Class.forName("com.augmentalis.ava.harness.SignoffProviders")
                .getMethod("register", Class.forName("com.augmentalis.ava.harness.SignoffProviderFactory"))
                .invoke(null, factory);
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("-e " + ARG_PROVIDER_FACTORY + " " + className + ": " + e, e);
        }
    }

    /** -e class: "a.B", "a.B#method" or a comma-separated list of them (AndroidJUnitRunner's syntax). */
    static Request buildRequest(String spec) {
        List<Class<?>> classes = new ArrayList<>();
        List<String[]> methods = new ArrayList<>();
        for (String entry : spec.split(",")) {
            String name = entry.trim();
            if (name.isEmpty()) continue;
            String[] parts = name.split("#", 2);
            try {
                classes.add(Class.forName(parts[0]));
            } catch (ClassNotFoundException e) {
                throw new IllegalArgumentException("Could not find class: " + parts[0], e);
            }
            if (parts.length == 2) methods.add(parts);
        }
        Request request = classes.size() == 1 ? Request.aClass(classes.get(0))
            : Request.classes(classes.toArray(new Class<?>[0]));
        if (methods.isEmpty()) return request;
        return request.filterWith(new Filter() {
            @Override
            public boolean shouldRun(Description description) {
                if (description.getMethodName() == null) return true;
                String method = description.getMethodName().replaceFirst("\\[.*$", "");
                for (String[] wanted : methods) {
                    if (wanted[0].equals(description.getClassName())
                        && (wanted[1].equals(method) || wanted[1].equals(description.getMethodName()))) {
                        return true;
                    }
                }
                return false;
            }

            @Override
            public String describe() { return "methods " + spec; }
        });
    }

    /**
     * An uncaught exception on any thread kills an Android app process: the running test fails
     * with it ("Process crashed while executing ..."), AndroidRuntime logs FATAL EXCEPTION, and
     * the process dies before INSTRUMENTATION_CODE, so am reports "Process crashed.".
     */
    private static void crash(Thread thread, Throwable e) {
        try {
            ResultPrinter current = printer;
            if (current != null) current.reportProcessCrash(e);
            Log.e("AndroidRuntime", "FATAL EXCEPTION: " + thread.getName() + "\nProcess: "
                + DeviceEnv.get().targetPackage() + ", PID: " + ProcessHandle.current().pid(), e);
        } finally {
            Runtime.getRuntime().halt(EXIT_CRASHED);
        }
    }

    /** The device-side glue holds our stdin open; its end means the device stopped the run. */
    private static void watchParent() {
        Thread watcher = new Thread(() -> {
            try {
                InputStream in = new java.io.FileInputStream(java.io.FileDescriptor.in);
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) { /* nothing is sent: only the end matters */ }
            } catch (Exception ignored) {
                // the same as the end of the stream
            }
            Runtime.getRuntime().halt(137);
        }, "parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }
}
