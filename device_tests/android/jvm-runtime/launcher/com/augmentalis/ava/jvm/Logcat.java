// The process's log: android.util.Log records go to the device's logcat through the JVM's stderr,
// one record per line: "\u001eAVALOG\t<priority>\t<tag>\t<message>" with \\, \n, \r, \t escaped.
// Anything else on stderr (the JVM's or a native library's own output) is logged by the glue as
// System.err, as Android does with a process's stderr.
package com.augmentalis.ava.jvm;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public final class Logcat {
    public static final String MARK = "\u001eAVALOG\t";
    private static final PrintStream err =
        new PrintStream(new FileOutputStream(FileDescriptor.err), false, StandardCharsets.UTF_8);

    private Logcat() {}

    public static void write(int priority, String tag, String message) {
        String line = MARK + priority + '\t' + escape(tag == null ? "" : tag) + '\t'
            + escape(DeviceEnv.get().toDevice(message)) + '\n';
        synchronized (err) {
            err.print(line);
            err.flush();
        }
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default: out.append(c);
            }
        }
        return out.toString();
    }
}
