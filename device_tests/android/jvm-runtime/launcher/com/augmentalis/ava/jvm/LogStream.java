// System.out and System.err of the app: on Android both end up in logcat (I/System.out,
// W/System.err), one entry per line; the am channel never sees them.
package com.augmentalis.ava.jvm;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

final class LogStream extends OutputStream {
    private final int priority;
    private final String tag;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LogStream(int priority, String tag) {
        this.priority = priority;
        this.tag = tag;
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            flushLine();
        } else {
            line.write(b);
        }
    }

    @Override
    public synchronized void flush() {}

    private void flushLine() {
        Logcat.write(priority, tag, new String(line.toByteArray(), StandardCharsets.UTF_8));
        line.reset();
    }
}
