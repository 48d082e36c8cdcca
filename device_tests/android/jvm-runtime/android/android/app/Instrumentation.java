// JVM runtime shim: android.app.Instrumentation. sendStatus/finish print what `am instrument -r`
// prints for them (frameworks/base cmds/am Instrument.java: one line per bundle key, keys sorted,
// values raw, then the code line) on the launcher's `am` channel, the JVM's real stdout.
package android.app;

import android.content.Context;
import android.os.Bundle;
import com.augmentalis.ava.jvm.AmChannel;

/** android.app.Instrumentation (API 34), subset. */
public class Instrumentation {
    private final Context context;
    private final Context targetContext;

    public Instrumentation(Context context, Context targetContext) {
        this.context = context;
        this.targetContext = targetContext;
    }

    public Context getContext() { return context; }

    public Context getTargetContext() { return targetContext; }

    public void sendStatus(int resultCode, Bundle results) { AmChannel.status(resultCode, results); }

    /** Ends the instrumentation: the final bundle and code; the process then exits. */
    public void finish(int resultCode, Bundle results) { AmChannel.result(resultCode, results); }
}
