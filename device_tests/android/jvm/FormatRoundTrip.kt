// CI tool (not shipped to the phone): runs the sign-off's file-format helpers (RequestReader,
// NpyWriter, ResultWriter/Json, AtomicFiles, SignoffMath) on a plain JVM so that
// tests/android/test_contract.py can check them against the harness and the Python reference.
//
//   request <request.json> <parsed.json>   parse a harness-written request.json, write back every field
//                                          (a bad "chapter" is not fatal: null, and derived.chapterError)
//   write <values.json> <outDir>           write embeddings.npy, token_ids_e2e.json, result.json from values
//   math <cases.json> <answers.json>       pooling, percentile, ranking, .npy headers on given cases
//
// Exit 0 on success; 2 with `error: ...` on stderr when the input is rejected.
package com.augmentalis.ava.harness.tools

import com.augmentalis.ava.harness.AtomicFiles
import com.augmentalis.ava.harness.Json
import com.augmentalis.ava.harness.ModelResult
import com.augmentalis.ava.harness.NpyWriter
import com.augmentalis.ava.harness.RequestException
import com.augmentalis.ava.harness.RequestReader
import com.augmentalis.ava.harness.ResultWriter
import com.augmentalis.ava.harness.SignoffMath
import com.augmentalis.ava.harness.SignoffRequest
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    try {
        when (args.firstOrNull()) {
            "request" -> request(File(args[1]), File(args[2]))
            "write" -> write(File(args[1]), File(args[2]))
            "math" -> math(File(args[1]), File(args[2]))
            else -> {
                System.err.println("usage: FormatRoundTrip request|write|math <in> <out>")
                exitProcess(64)
            }
        }
    } catch (e: RequestException) {
        System.err.println("error: ${e.message}")
        exitProcess(2)
    }
}

private fun request(input: File, output: File) {
    val r: SignoffRequest = RequestReader.read(input)
    val parsed = linkedMapOf<String, Any?>(
        "contract" to r.contract,
        "runId" to r.runId,
        "mode" to r.mode,
        "threads" to r.threads,
        "executionProvider" to r.executionProvider,
        "warmup" to r.warmup,
        "iterations" to r.iterations,
        "profile" to r.profile,
        "texts" to r.texts,
        "chapter" to r.chapter?.let { c ->
            linkedMapOf(
                "normRange" to listOf(c.normLow, c.normHigh),
                "rag" to linkedMapOf(
                    "documents" to c.rag.documents,
                    "query" to c.rag.query,
                    "expectedFirst" to c.rag.expectedFirst,
                    "neverFirst" to c.rag.neverFirst,
                ),
            )
        },
        "models" to r.models.map { m ->
            linkedMapOf<String, Any?>(
                "modelId" to m.modelId,
                "file" to m.file,
                "sha256" to m.sha256,
                "tokenizer" to m.tokenizer,
                "dimension" to m.dimension,
                "inputs" to m.inputs,
                "output" to m.output,
                "pooling" to m.pooling,
                "normalize" to m.normalize,
                "maxLength" to m.maxLength,
                "tokenIds" to m.tokenIds,
            )
        },
        // Derived values the device acts on, so the test sees them too.
        "derived" to linkedMapOf(
            "wantsModelParity" to r.wantsModelParity,
            "wantsEndToEnd" to r.wantsEndToEnd,
            "ragOrder" to r.chapter?.rag?.documents?.keys?.toList(),
            "chapterError" to r.chapterError,
        ),
    )
    AtomicFiles.writeText(output, Json.write(parsed, indent = 1))
}

private fun floats(array: JSONArray): FloatArray = FloatArray(array.length()) { array.getDouble(it).toFloat() }

private fun rows(array: JSONArray): List<FloatArray> = List(array.length()) { floats(array.getJSONArray(it)) }

private fun longs(array: JSONArray): LongArray = LongArray(array.length()) { array.getLong(it) }

private fun strings(array: JSONArray): List<String> = List(array.length()) { array.getString(it) }

/** Writes the three output files exactly as the device test does, from known values. */
private fun write(input: File, outDir: File) {
    val values = JSONObject(input.readText())
    val dimension = values.getInt("dimension")
    NpyWriter.write(File(outDir, "embeddings.npy"), rows(values.getJSONArray("embeddings")), dimension)
    val ids = values.getJSONArray("tokenIds").let { a -> List(a.length()) { longs(a.getJSONArray(it)) } }
    AtomicFiles.writeText(File(outDir, "token_ids_e2e.json"), ResultWriter.tokenIdsJson(ids))

    val r = values.getJSONObject("result")
    val result = ModelResult(r.getString("modelId"), r.getString("abi"), r.getString("executionProvider"))
    if (present(r, "sha256")) result.sha256 = r.getString("sha256")
    if (present(r, "loadMs")) result.loadMs = r.getDouble("loadMs")
    if (present(r, "coldMs")) result.coldMs = r.getDouble("coldMs")
    if (present(r, "profileMs")) result.profileMs = r.getDouble("profileMs")
    if (present(r, "latencyMs")) result.latencyMs = r.getJSONArray("latencyMs").let { a -> List(a.length()) { a.getDouble(it) } }
    if (present(r, "peakMemoryKb")) result.peakMemoryKb = r.getLong("peakMemoryKb")
    if (present(r, "warmupMs")) result.warmupMs = r.getDouble("warmupMs")
    if (present(r, "memoryKb")) {
        val memory = r.getJSONObject("memoryKb")
        result.memoryKb = LinkedHashMap<String, Long>().also { m -> for (key in memory.keys()) m[key] = memory.getLong(key) }
    }
    if (present(r, "ortVersion")) result.ortVersion = r.getString("ortVersion")
    if (present(r, "dimension")) result.dimension = r.getInt("dimension")
    if (present(r, "chapterTests")) {
        val tests = r.getJSONObject("chapterTests")
        for (key in tests.keys()) result.chapterTests[key] = tests.getBoolean(key)
    }
    if (present(r, "ragRanking")) result.ragRanking = strings(r.getJSONArray("ragRanking"))
    if (present(r, "errors")) result.errors.addAll(strings(r.getJSONArray("errors")))
    ResultWriter.write(outDir, result)
}

private fun math(input: File, output: File) {
    val cases = JSONObject(input.readText())
    val pool = cases.getJSONArray("pool").let { a ->
        List(a.length()) { i ->
            val c = a.getJSONObject(i)
            SignoffMath.pool(floats(c.getJSONArray("output")), longs(c.getJSONArray("shape")), c.getString("pooling"),
                c.getBoolean("normalize"))
        }
    }
    val percentile = cases.getJSONArray("percentile").let { a ->
        List(a.length()) { i ->
            val c = a.getJSONObject(i)
            val samples = c.getJSONArray("samples")
            SignoffMath.percentile(List(samples.length()) { samples.getDouble(it) }, c.getDouble("q"))
        }
    }
    val rank = cases.getJSONArray("rank").let { a ->
        List(a.length()) { i ->
            val c = a.getJSONObject(i)
            SignoffMath.rank(strings(c.getJSONArray("ids")), rows(c.getJSONArray("vectors")), floats(c.getJSONArray("query")))
        }
    }
    val valid = cases.getJSONArray("valid").let { a ->
        List(a.length()) { i ->
            val c = a.getJSONObject(i)
            val range = c.getJSONArray("normRange")
            SignoffMath.embeddingsValid(rows(c.getJSONArray("rows")), range.getDouble(0), range.getDouble(1))
        }
    }
    val ragPasses = cases.getJSONArray("ragPasses").let { a ->
        List(a.length()) { i ->
            val c = a.getJSONObject(i)
            SignoffMath.ragRankingPasses(strings(c.getJSONArray("ranking")), c.getString("expectedFirst"),
                c.getString("neverFirst"))
        }
    }
    val headers = cases.getJSONArray("npyHeaders").let { a ->
        List(a.length()) { i ->
            val shape = a.getJSONArray(i)
            NpyWriter.header(shape.getInt(0), shape.getInt(1)).joinToString("") { String.format("%02x", it) }
        }
    }
    val answers = linkedMapOf("pool" to pool, "percentile" to percentile, "rank" to rank, "valid" to valid,
        "ragPasses" to ragPasses, "npyHeaders" to headers)
    AtomicFiles.writeText(output, Json.write(answers))
}

/** A key with a value (JSON null means "not set", as the device leaves it). */
private fun present(obj: JSONObject, key: String): Boolean = obj.has(key) && !obj.isNull(key)
