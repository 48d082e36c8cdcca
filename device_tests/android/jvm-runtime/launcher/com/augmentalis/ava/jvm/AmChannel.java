// The `am instrument -r` side of the process: what Instrumentation.sendStatus and finish print,
// exactly as frameworks/base cmds/am Instrument.java prints them in raw mode (one line per bundle
// key, keys sorted, values raw, then the code line). It goes to the JVM's real stdout, one bundle
// per write, flushed at once (the device-side glue streams it into `am instrument`).
package com.augmentalis.ava.jvm;

import android.os.Bundle;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public final class AmChannel {
    private static PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false);
    private static boolean finished;

    private AmChannel() {}

    static synchronized void open(PrintStream stream) { out = stream; }

    static PrintStream stdout() {
        return new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    }

    public static synchronized boolean finished() { return finished; }

    public static void status(int code, Bundle bundle) {
        write(lines("INSTRUMENTATION_STATUS: ", bundle) + "INSTRUMENTATION_STATUS_CODE: " + code + "\n", false);
    }

    public static void result(int code, Bundle bundle) {
        write(lines("INSTRUMENTATION_RESULT: ", bundle) + "INSTRUMENTATION_CODE: " + code + "\n", true);
    }

    private static String lines(String prefix, Bundle bundle) {
        StringBuilder text = new StringBuilder();
        if (bundle != null) {
            List<String> keys = new ArrayList<>(bundle.keySet());
            Collections.sort(keys);
            for (String key : keys) {
                text.append(prefix).append(key).append('=').append(bundle.get(key)).append('\n');
            }
        }
        return text.toString();
    }

    private static synchronized void write(String text, boolean last) {
        if (finished) return;  // am stops listening once the instrumentation finished
        out.print(DeviceEnv.get().toDevice(text));
        out.flush();
        finished = last;
    }
}
