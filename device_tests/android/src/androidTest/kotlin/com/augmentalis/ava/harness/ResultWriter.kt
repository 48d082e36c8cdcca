package com.augmentalis.ava.harness

import java.io.File

/**
 * result.json of one model (device contract v4). Keys appear exactly when the Python reference
 * writes them: `coldMs` and `dimension` once the model loaded, `ragRanking` once the RAG check
 * ranked the documents; every other key always (`loadMs` is null when the model did not load).
 */
class ModelResult(val modelId: String, var abi: String, var executionProvider: String) {
    var sha256: String = ""
    var loadMs: Double? = null
    var coldMs: Double? = null
    var latencyMs: List<Double> = emptyList()
    /** Contract v3: the profiled pass's runs, wall time (absent when no profile was asked for or it failed). */
    var profileMs: Double? = null
    /** Contract v4: the warm-up runs together, wall time. */
    var warmupMs: Double? = null
    /** Contract v4: beforeLoad, peakLoad, afterLoad, peakInference (kB, 0 = unreadable). */
    var memoryKb: LinkedHashMap<String, Long>? = null
    var peakMemoryKb: Long = 0
    var ortVersion: String = ""
    var dimension: Int? = null
    val chapterTests: LinkedHashMap<String, Boolean> = LinkedHashMap()
    var ragRanking: List<String>? = null
    val errors: MutableList<String> = mutableListOf()

    fun toMap(): LinkedHashMap<String, Any?> {
        val map = LinkedHashMap<String, Any?>()
        map["contract"] = CONTRACT
        map["modelId"] = modelId
        map["sha256"] = sha256
        map["loadMs"] = loadMs
        coldMs?.let { map["coldMs"] = it }
        map["latencyMs"] = latencyMs
        profileMs?.let { map["profileMs"] = it }
        warmupMs?.let { map["warmupMs"] = it }
        memoryKb?.let { map["memoryKb"] = LinkedHashMap(it) }
        map["peakMemoryKb"] = peakMemoryKb
        map["ortVersion"] = ortVersion
        map["executionProvider"] = executionProvider
        map["abi"] = abi
        dimension?.let { map["dimension"] = it }
        map["chapterTests"] = LinkedHashMap(chapterTests)
        ragRanking?.let { map["ragRanking"] = it }
        map["errors"] = errors.toList()
        return map
    }
}

object ResultWriter {
    const val FILE_NAME = "result.json"

    fun json(result: ModelResult): String = Json.write(result.toMap(), indent = 1)

    fun write(outDir: File, result: ModelResult): File {
        val target = File(outDir, FILE_NAME)
        AtomicFiles.writeText(target, json(result))
        return target
    }

    /** token_ids_e2e.json: `[[101, 7592, 102], ...]`, byte for byte what Python's json.dumps writes. */
    fun tokenIdsJson(ids: List<LongArray>): String = Json.write(ids, indent = null)
}

/**
 * A small JSON writer with Python's `json.dumps` layout (separators `", "`/`": "`, or `indent=n`
 * with `","`), ASCII-only output (`ensure_ascii`: every char outside space..'~' as a lowercase
 * `\uXXXX`), and null for non-finite numbers (strict JSON, where Python would write NaN).
 */
object Json {
    fun write(value: Any?, indent: Int? = null): String = StringBuilder().also { append(it, value, indent, 0) }.toString()

    private fun newline(out: StringBuilder, indent: Int?, level: Int) {
        if (indent != null) out.append('\n').append(" ".repeat(indent * level))
    }

    private fun <T> items(out: StringBuilder, open: Char, close: Char, list: Collection<T>, indent: Int?, level: Int, item: (T) -> Unit) {
        out.append(open)
        if (list.isEmpty()) {
            out.append(close)
            return
        }
        var first = true
        for (element in list) {
            if (!first) out.append(if (indent == null) ", " else ",")
            first = false
            newline(out, indent, level + 1)
            item(element)
        }
        newline(out, indent, level)
        out.append(close)
    }

    private fun append(out: StringBuilder, value: Any?, indent: Int?, level: Int) {
        when (value) {
            null -> out.append("null")
            is String -> string(out, value)
            is Boolean -> out.append(if (value) "true" else "false")
            is Int, is Long, is Short, is Byte -> out.append(value.toString())
            is Float -> number(out, value.toDouble())
            is Double -> number(out, value)
            is Map<*, *> -> items(out, '{', '}', value.entries, indent, level) { entry ->
                string(out, entry.key as? String ?: throw IllegalArgumentException("JSON keys must be strings"))
                out.append(": ")
                append(out, entry.value, indent, level + 1)
            }
            is LongArray -> append(out, value.toList(), indent, level)
            is IntArray -> append(out, value.toList(), indent, level)
            is FloatArray -> append(out, value.toList(), indent, level)
            is DoubleArray -> append(out, value.toList(), indent, level)
            is Array<*> -> append(out, value.toList(), indent, level)
            is Iterable<*> -> items(out, '[', ']', value.toList(), indent, level) { append(out, it, indent, level + 1) }
            else -> throw IllegalArgumentException("cannot write ${value::class.java.name} as JSON")
        }
    }

    private fun number(out: StringBuilder, value: Double) {
        if (value.isNaN() || value.isInfinite()) out.append("null") else out.append(value.toString())
    }

    fun string(out: StringBuilder, value: String) {
        out.append('"')
        for (c in value) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '\b' -> out.append("\\b")
                '\u000C' -> out.append("\\f")
                else -> if (c in ' '..'~') out.append(c) else out.append("\\u").append(String.format(java.util.Locale.ROOT, "%04x", c.code))
            }
        }
        out.append('"')
    }
}
