package com.augmentalis.ava.harness

import android.os.Build
import java.io.File
import java.security.MessageDigest

object DeviceStats {
    /** Peak resident set size of this process (VmHWM of /proc/self/status), in kB; 0 if unreadable. */
    fun peakMemoryKb(): Long = try {
        File("/proc/self/status").readLines()
            .firstOrNull { it.startsWith("VmHWM:") }
            ?.removePrefix("VmHWM:")?.trim()?.removeSuffix("kB")?.trim()?.toLong() ?: 0L
    } catch (e: Exception) {
        0L
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
