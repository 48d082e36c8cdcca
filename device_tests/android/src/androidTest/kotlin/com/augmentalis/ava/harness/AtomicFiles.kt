package com.augmentalis.ava.harness

import java.io.File
import java.io.FileOutputStream
import java.io.IOException

/**
 * Every output file is written to `.<name>.tmp` beside it, synced, then renamed over the final name
 * (rename(2) within one directory is atomic, also on the FUSE-backed external storage), so the host
 * never pulls a half-written file. Same temporary name as the Python reference.
 */
object AtomicFiles {
    fun write(target: File, bytes: ByteArray) {
        val dir = target.absoluteFile.parentFile ?: throw IOException("$target has no parent directory")
        if (!dir.isDirectory && !dir.mkdirs() && !dir.isDirectory) throw IOException("cannot create $dir")
        val tmp = File(dir, ".${target.name}.tmp")
        FileOutputStream(tmp).use { out ->
            out.write(bytes)
            out.flush()
            out.fd.sync()
        }
        if (!tmp.renameTo(target)) {
            tmp.delete()
            throw IOException("cannot rename $tmp to $target")
        }
    }

    fun writeText(target: File, text: String) = write(target, text.toByteArray(Charsets.UTF_8))
}
