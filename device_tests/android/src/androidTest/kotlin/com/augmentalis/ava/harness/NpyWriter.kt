package com.augmentalis.ava.harness

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * NumPy `.npy` format version 1.0 writer for float32 matrices (little-endian `<f4`, C order).
 *
 * Layout (numpy.lib.format): magic `\x93NUMPY`, version bytes 1 0, a little-endian uint16 header
 * length, then an ASCII Python-dict header padded with spaces and ended by `\n` so that the data
 * starts at a multiple of 64 bytes. Like `np.save` (NumPy >= 1.23), the header also reserves spare
 * spaces after the dict for the first axis to grow to 21 digits, so the bytes are identical to
 * what the Python reference's `np.save` writes (tests/android/test_contract.py compares them).
 */
object NpyWriter {
    private const val ARRAY_ALIGN = 64
    private const val GROWTH_AXIS_MAX_DIGITS = 21
    private val MAGIC = byteArrayOf(0x93.toByte(), 'N'.code.toByte(), 'U'.code.toByte(), 'M'.code.toByte(),
        'P'.code.toByte(), 'Y'.code.toByte())

    fun header(rows: Int, cols: Int): ByteArray {
        val dict = "{'descr': '<f4', 'fortran_order': False, 'shape': ($rows, $cols), }" +
            " ".repeat(GROWTH_AXIS_MAX_DIGITS - rows.toString().length)
        val preamble = MAGIC.size + 2 + 2
        val padding = ARRAY_ALIGN - (preamble + dict.length + 1) % ARRAY_ALIGN
        val text = dict + " ".repeat(padding) + "\n"  // numpy pads a full 64 when already aligned
        check(text.length <= 0xFFFF) { "npy header too long" }
        val buffer = ByteBuffer.allocate(preamble + text.length).order(ByteOrder.LITTLE_ENDIAN)
        buffer.put(MAGIC).put(1.toByte()).put(0.toByte()).putShort(text.length.toShort())
        buffer.put(text.toByteArray(Charsets.US_ASCII))
        return buffer.array()
    }

    /** `rows` arrays of equal length; `cols` is only needed when there are no rows. */
    fun bytes(rows: List<FloatArray>, cols: Int = rows.firstOrNull()?.size ?: 0): ByteArray {
        for ((i, row) in rows.withIndex()) {
            require(row.size == cols) { "row $i has ${row.size} values, expected $cols" }
        }
        val head = header(rows.size, cols)
        val buffer = ByteBuffer.allocate(head.size + rows.size * cols * 4).order(ByteOrder.LITTLE_ENDIAN)
        buffer.put(head)
        for (row in rows) for (v in row) buffer.putFloat(v)
        return buffer.array()
    }

    fun write(target: File, rows: List<FloatArray>, cols: Int = rows.firstOrNull()?.size ?: 0) =
        AtomicFiles.write(target, bytes(rows, cols))
}
