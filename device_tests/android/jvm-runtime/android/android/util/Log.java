// JVM runtime shim: android.util.Log writing into the virtual device's logcat (through the
// launcher's Logcat channel), with Android's priorities and its message + stack trace layout.
package android.util;

import com.augmentalis.ava.jvm.Logcat;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.UnknownHostException;

/** android.util.Log (API 34), subset. */
public final class Log {
    public static final int VERBOSE = 2;
    public static final int DEBUG = 3;
    public static final int INFO = 4;
    public static final int WARN = 5;
    public static final int ERROR = 6;
    public static final int ASSERT = 7;

    private Log() {}

    public static int v(String tag, String msg) { return println(VERBOSE, tag, msg); }
    public static int v(String tag, String msg, Throwable tr) { return println(VERBOSE, tag, withStack(msg, tr)); }
    public static int d(String tag, String msg) { return println(DEBUG, tag, msg); }
    public static int d(String tag, String msg, Throwable tr) { return println(DEBUG, tag, withStack(msg, tr)); }
    public static int i(String tag, String msg) { return println(INFO, tag, msg); }
    public static int i(String tag, String msg, Throwable tr) { return println(INFO, tag, withStack(msg, tr)); }
    public static int w(String tag, String msg) { return println(WARN, tag, msg); }
    public static int w(String tag, String msg, Throwable tr) { return println(WARN, tag, withStack(msg, tr)); }
    public static int w(String tag, Throwable tr) { return println(WARN, tag, getStackTraceString(tr)); }
    public static int e(String tag, String msg) { return println(ERROR, tag, msg); }
    public static int e(String tag, String msg, Throwable tr) { return println(ERROR, tag, withStack(msg, tr)); }
    public static int wtf(String tag, String msg) { return println(ASSERT, tag, msg); }

    public static boolean isLoggable(String tag, int level) { return level >= INFO; }

    /** Android's layout: the message, a newline, the stack trace (empty for UnknownHostException). */
    public static String getStackTraceString(Throwable tr) {
        if (tr == null) return "";
        for (Throwable t = tr; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) return "";
        }
        StringWriter out = new StringWriter();
        PrintWriter writer = new PrintWriter(out);
        tr.printStackTrace(writer);
        writer.flush();
        return out.toString();
    }

    public static int println(int priority, String tag, String msg) {
        if (msg == null) throw new NullPointerException("println needs a message");
        Logcat.write(priority, tag, msg);
        return msg.length();
    }

    private static String withStack(String msg, Throwable tr) { return msg + '\n' + getStackTraceString(tr); }
}
