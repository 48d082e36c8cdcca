package com.augmentalis.ava.harness

import org.json.JSONArray
import org.json.JSONObject
import java.io.File

// request.json of device contract v3 (device_tests/CONTRACT.md), parsed with org.json (android.jar's
// copy on the phone). JVM-only on purpose: build.sh compiles this file without any Android class and
// tests/android/test_contract.py feeds it requests written by the harness.

const val CONTRACT = "ava-harness-device/4"

/** The profiled pass (request "profile": true) runs texts[0] this many times at most (contract v3). */
const val PROFILE_RUNS_MAX = 10

/** The JUnit checks, in the order the contract and the Python reference run them. */
val CHECKS: List<String> = listOf("modelLoads", "embeddingsValid", "ragRanking", "modelParity", "endToEnd", "latency")

val MODES: List<String> = listOf("model_parity", "end_to_end", "both")
val EXECUTION_PROVIDERS: List<String> = listOf("CPU", "NNAPI", "XNNPACK")
val POOLINGS: List<String> = listOf("none", "mean", "cls")

/** Same rule as the host's harness.models.registry.MODEL_ID_PATTERN: IDs become file names. */
private val SAFE_ID = Regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

class ModelRequest(
    val modelId: String,
    /** Relative to FILES (the app's external files dir). */
    val file: String,
    val sha256: String,
    val tokenizer: String,
    val dimension: Int,
    val inputs: List<String>,
    val output: String,
    val pooling: String,
    val normalize: Boolean,
    val maxLength: Int,
    /** Host-tokenized texts, one per request text (model-parity mode). */
    val tokenIds: List<LongArray>,
)

/** Chapter 28A.6 test 4: [query] must rank [expectedFirst] first and never [neverFirst]. */
class RagRequest(
    /** Document id -> text, in the request's order (ties in the ranking keep this order). */
    val documents: LinkedHashMap<String, String>,
    val query: String,
    val expectedFirst: String,
    val neverFirst: String,
)

/** request.json's "chapter" (contract v2): the thresholds of the chapter tests the device runs. */
class ChapterRequest(
    /** Test 2: every L2 norm strictly between these. */
    val normLow: Double,
    val normHigh: Double,
    val rag: RagRequest,
)

class SignoffRequest(
    val contract: String,
    val runId: String,
    val mode: String,
    val threads: Int,
    val executionProvider: String,
    val warmup: Int,
    val iterations: Int,
    /** Contract v3: after the timed iterations, a separate profiled pass writes profile.json. */
    val profile: Boolean,
    val texts: List<String>,
    /** Null when the request's "chapter" is missing or malformed; [chapterError] says why. */
    val chapter: ChapterRequest?,
    val chapterError: String?,
    val models: List<ModelRequest>,
) {
    val wantsModelParity: Boolean get() = mode == "model_parity" || mode == "both"
    val wantsEndToEnd: Boolean get() = mode == "end_to_end" || mode == "both"

    /**
     * The chapter thresholds, or an AssertionError naming the bad field. Not a request error: the
     * models are known, so each model's checks fail (modelLoads first) and the run still completes.
     */
    fun requireChapter(): ChapterRequest = chapter ?: throw AssertionError(chapterError ?: "no chapter thresholds")
}

class RequestException(message: String) : IllegalArgumentException(message)

object RequestReader {
    fun read(file: File): SignoffRequest = parse(file.readText(Charsets.UTF_8), file.path)

    fun parse(json: String, source: String = "request.json"): SignoffRequest {
        val root = try {
            JSONObject(json)
        } catch (e: Exception) {
            throw RequestException("$source: not a JSON object (${e.message})")
        }
        return Fields(root, source).request()
    }

    /** Strict typed access: the host writes exact JSON types, so a coercion would hide a bug. */
    private class Fields(val obj: JSONObject, val where: String) {
        fun has(key: String): Boolean = obj.has(key) && !obj.isNull(key)

        fun raw(key: String): Any = if (has(key)) obj.get(key) else throw RequestException("$where: missing \"$key\"")

        fun string(key: String): String = raw(key) as? String ?: throw type(key, "a string")

        fun string(key: String, default: String): String = if (has(key)) string(key) else default

        fun long(key: String): Long = integral(raw(key)) ?: throw type(key, "an integer")

        fun int(key: String): Int {
            val value = long(key)
            if (value < Int.MIN_VALUE || value > Int.MAX_VALUE) throw type(key, "a 32-bit integer")
            return value.toInt()
        }

        fun int(key: String, default: Int): Int = if (has(key)) int(key) else default

        fun boolean(key: String): Boolean = raw(key) as? Boolean ?: throw type(key, "true or false")

        fun array(key: String): JSONArray = raw(key) as? JSONArray ?: throw type(key, "an array")

        fun child(key: String): Fields = Fields(raw(key) as? JSONObject ?: throw type(key, "an object"), "$where.$key")

        fun strings(key: String): List<String> {
            val array = array(key)
            return List(array.length()) { i -> array.get(i) as? String ?: throw type("$key[$i]", "a string") }
        }

        fun type(key: String, what: String) = RequestException("$where: \"$key\" must be $what")

        fun oneOf(key: String, value: String, allowed: List<String>): String {
            if (value !in allowed) throw RequestException("$where: \"$key\" is \"$value\", expected one of $allowed")
            return value
        }

        fun request(): SignoffRequest {
            val contract = string("contract")
            if (contract != CONTRACT) throw RequestException("$where: unsupported contract \"$contract\" (this is $CONTRACT)")
            val texts = strings("texts")
            var chapterError: String? = null
            val chapter = try {
                child("chapter").chapter()
            } catch (e: RequestException) {
                chapterError = e.message
                null
            }
            val modelArray = array("models")
            val models = List(modelArray.length()) { i ->
                val item = modelArray.get(i) as? JSONObject ?: throw type("models[$i]", "an object")
                Fields(item, "$where.models[$i]").model(texts.size)
            }
            val ids = models.map { it.modelId }
            if (ids.toSet().size != ids.size) throw RequestException("$where: a model ID appears twice in $ids")
            return SignoffRequest(
                contract = contract,
                runId = safeId("runId", string("runId")),
                mode = oneOf("mode", string("mode", "both"), MODES),
                threads = positive("threads", int("threads", 2), 1),
                executionProvider = oneOf("executionProvider", string("executionProvider", "CPU"), EXECUTION_PROVIDERS),
                warmup = positive("warmup", int("warmup", 3), 0),
                iterations = positive("iterations", int("iterations", 20), 1),
                profile = if (has("profile")) boolean("profile") else false,
                texts = texts,
                chapter = chapter,
                chapterError = chapterError,
                models = models,
            )
        }

        /** The same rules, in the same order, with the same messages as the Python reference's parse_chapter. */
        fun chapter(): ChapterRequest {
            val range = raw("normRange") as? JSONArray
            val bounds = if (range == null || range.length() != 2) null else List(2) { i -> finite(range.get(i)) }
            val low = bounds?.get(0)
            val high = bounds?.get(1)
            if (low == null || high == null || !(0.0 <= low && low < high)) {
                throw RequestException("$where: \"normRange\" must be [low, high], finite numbers with 0 <= low < high")
            }
            val rag = child("rag")
            val docs = rag.raw("documents") as? JSONObject
            val documents = LinkedHashMap<String, String>()
            if (docs != null) for (id in docs.keys()) documents[id] = docs.get(id) as? String ?: break
            if (docs == null || documents.isEmpty() || documents.size != docs.length()) {
                throw RequestException("${rag.where}: \"documents\" must be a non-empty object of strings")
            }
            val query = rag.string("query")
            val expectedFirst = rag.string("expectedFirst")
            val neverFirst = rag.string("neverFirst")
            for ((key, value) in listOf("expectedFirst" to expectedFirst, "neverFirst" to neverFirst)) {
                if (value !in documents) throw RequestException("${rag.where}: \"$key\" \"$value\" is not a document id")
            }
            if (expectedFirst == neverFirst) {
                throw RequestException(
                    "${rag.where}: \"expectedFirst\" and \"neverFirst\" are the same document \"$expectedFirst\"",
                )
            }
            return ChapterRequest(low, high, RagRequest(documents, query, expectedFirst, neverFirst))
        }

        /** A finite JSON number (org.json: Integer, Long or Double), else null. */
        fun finite(value: Any?): Double? = when (value) {
            is Int -> value.toDouble()
            is Long -> value.toDouble()
            is Double -> if (value.isFinite()) value else null
            else -> null
        }

        fun model(textCount: Int): ModelRequest {
            val idArray = array("tokenIds")
            val tokenIds = List(idArray.length()) { i ->
                val row = idArray.get(i) as? JSONArray ?: throw type("tokenIds[$i]", "an array of integers")
                LongArray(row.length()) { j -> integral(row.get(j)) ?: throw type("tokenIds[$i][$j]", "an integer") }
            }
            if (tokenIds.size != textCount) {
                throw RequestException("$where: ${tokenIds.size} tokenIds lists for $textCount texts")
            }
            if (tokenIds.any { it.isEmpty() }) throw RequestException("$where: an empty tokenIds list")
            return ModelRequest(
                modelId = safeId("modelId", string("modelId")),
                file = relativePath("file", string("file")),
                sha256 = string("sha256"),
                tokenizer = relativePath("tokenizer", string("tokenizer")),
                dimension = positive("dimension", int("dimension"), 1),
                inputs = strings("inputs"),
                output = string("output"),
                pooling = oneOf("pooling", string("pooling"), POOLINGS),
                normalize = boolean("normalize"),
                maxLength = positive("maxLength", int("maxLength"), 2),
                tokenIds = tokenIds,
            )
        }

        fun positive(key: String, value: Int, min: Int): Int {
            if (value < min) throw RequestException("$where: \"$key\" = $value is below $min")
            return value
        }

        fun safeId(key: String, value: String): String {
            if (!SAFE_ID.matches(value)) throw RequestException("$where: \"$key\" \"$value\" is not a safe ID")
            return value
        }

        fun relativePath(key: String, value: String): String {
            val parts = value.split('/')
            if (value.isEmpty() || value.startsWith("/") || parts.any { it == ".." || it.isEmpty() }) {
                throw RequestException("$where: \"$key\" \"$value\" must be a relative path inside FILES")
            }
            return value
        }
    }

    /** Integer, Long, or a whole Double that org.json may hand back for a big literal. */
    private fun integral(value: Any?): Long? = when (value) {
        is Int -> value.toLong()
        is Long -> value
        else -> null
    }
}
