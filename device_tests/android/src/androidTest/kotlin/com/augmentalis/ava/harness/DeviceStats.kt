package com.augmentalis.ava.harness

import android.os.Build
import java.io.File
import java.security.MessageDigest

object DeviceStats {
    /** Peak resident set size of this process (VmHWM of /proc/self/status), in kB; 0 if unreadable. */
    fun peakMemoryKb(): Long = statusKb("VmHWM")

    /** A field of /proc/self/status in kB (VmRSS, VmHWM); 0 if unreadable. */
    fun statusKb(field: String): Long = try {
        File("/proc/self/status").readLines()
            .firstOrNull { it.startsWith("$field:") }
            ?.removePrefix("$field:")?.trim()?.removeSuffix("kB")?.trim()?.toLong() ?: 0L
    } catch (e: Exception) {
        0L
    }

    /**
     * Contract v4: start a new VmHWM from the present resident size (`5` to /proc/self/clear_refs);
     * where the kernel or SELinux refuses, VmHWM stays the process's peak so far (an upper bound).
     */
    fun resetPeak() {
        try {
            File("/proc/self/clear_refs").writeText("5")
        } catch (e: Exception) {
            // not allowed here: the next peak includes earlier phases
        }
    }

    /** The peak since the last resetPeak(), never below `start` when both were read. */
    fun peakSinceKb(start: Long): Long {
        val peak = statusKb("VmHWM")
        return if (peak > 0 && start > 0) maxOf(peak, start) else peak
    }

    fun abi(): String = Build.SUPPORTED_ABIS?.firstOrNull() ?: ""

    fun sha256(file: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        file.inputStream().use { input ->
            val buffer = ByteArray(1 shl 20)
            while (true) {
                val n = input.read(buffer)
                if (n < 0) break
                digest.update(buffer, 0, n)
            }
        }
        return digest.digest().joinToString("") { String.format(java.util.Locale.ROOT, "%02x", it) }
    }
}
