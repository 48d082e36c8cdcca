package com.augmentalis.ava.harness

import ai.onnxruntime.OrtEnvironment
import android.os.Bundle
import android.util.Log
import androidx.test.platform.app.InstrumentationRegistry
import kotlinx.coroutines.runBlocking
import org.junit.Test
import org.junit.runner.Description
import org.junit.runner.OrderWith
import org.junit.runner.RunWith
import org.junit.runner.manipulation.Ordering
import org.junit.runner.manipulation.Sorter
import org.junit.runners.Parameterized
import java.io.File
import java.util.Locale

/**
 * The sign-off of device contract v2 (device_tests/CONTRACT.md), the Kotlin twin of
 * ava_reference/runner.py.
 *
 * One JUnit test per model and check, named `<check>[<modelId>]`: a Parameterized runner over the
 * request's models (`name = "{0}"` makes the method names `modelLoads[AVA-ONX-384-BASE-INT8]`, ...).
 * Parameterized runs every check of one model before the next model. Within a model, JUnit 4's
 * default method order is a hash order, so [ContractOrder] (`@OrderWith`, JUnit 4.13) puts the checks
 * in the contract's order; each check also brings up what it needs itself (model, parity
 * embeddings, provider) so that no order can turn one failure into a cascade of wrong results.
 * result.json is rewritten (atomically) after every check, so it is complete after the last one
 * and still describes what ran if the process dies.
 */
@RunWith(Parameterized::class)
@OrderWith(ContractOrder::class)
class EmbeddingSignoffTest(private val modelId: String) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun models(): List<Array<Any>> = SignoffSession.get().request.models.map { arrayOf<Any>(it.modelId) }
    }

    private val model: ModelState get() = SignoffSession.get().model(modelId)

    @Test
    fun modelLoads() = model.check("modelLoads") { it.modelLoads() }

    @Test
    fun embeddingsValid() = model.check("embeddingsValid") { it.embeddingsValid() }

    @Test
    fun ragRanking() = model.check("ragRanking") { it.ragRanking() }

    @Test
    fun modelParity() = model.check("modelParity") { it.modelParity() }

    @Test
    fun endToEnd() = model.check("endToEnd") { it.endToEnd() }

    @Test
    fun latency() = model.check("latency") { it.latency() }
}

/** Orders tests by their check's position in [CHECKS]; everything else keeps its order (stable sort). */
class ContractOrder : Sorter(BY_CHECK), Ordering.Factory {
    override fun create(context: Ordering.Context): Ordering = this

    companion object {
        private val BY_CHECK = Comparator<Description> { a, b -> rank(a).compareTo(rank(b)) }

        private fun rank(description: Description): Int =
            CHECKS.indexOf(description.methodName?.substringBefore('[') ?: "")
    }
}

/** One instrumentation run: the request named by `-e ava.request`, read once per process. */
class SignoffSession private constructor(
    val request: SignoffRequest,
    val requestFile: File,
    /** FILES: the app's external files dir, the base of the request's relative paths. */
    val files: File,
) {
    val runDir: File = requestFile.absoluteFile.parentFile!!
    val env: OrtEnvironment by lazy { OrtEnvironment.getEnvironment() }
    private val models = LinkedHashMap<String, ModelState>()
    private var current: ModelState? = null

    @Synchronized
    fun model(modelId: String): ModelState {
        val state = models.getOrPut(modelId) {
            val spec = request.models.firstOrNull { it.modelId == modelId }
                ?: throw IllegalArgumentException("model $modelId is not in ${requestFile.path}")
            ModelState(this, spec)
        }
        if (current !== state) {
            current?.release()  // one model's session and provider in memory at a time
            current = state
        }
        return state
    }

    companion object {
        const val ARG_REQUEST = "ava.request"
        const val ARG_RUN_ID = "ava.runId"
        private const val TAG = "AvaSignoff"

        @Volatile
        private var instance: SignoffSession? = null

        @JvmStatic
        @Synchronized
        fun get(): SignoffSession = instance ?: open().also { instance = it }

        private fun open(): SignoffSession {
            val args = InstrumentationRegistry.getArguments()
            val path = args.getString(ARG_REQUEST)
                ?: throw IllegalArgumentException("missing -e $ARG_REQUEST (device path of request.json)")
            val requestFile = File(path)
            val request = RequestReader.read(requestFile)
            val runId = args.getString(ARG_RUN_ID)
            if (runId != null && runId != request.runId) {
                throw IllegalArgumentException("-e $ARG_RUN_ID $runId but ${requestFile.path} is run ${request.runId}")
            }
            val files = filesDir(requestFile)
            Log.i(TAG, "run ${request.runId}: ${request.models.size} model(s), FILES=$files")
            return SignoffSession(request, requestFile, files)
        }

        /**
         * FILES/ava-harness/runs/<runId>/request.json -> FILES, so the model paths resolve where the
         * host pushed them; otherwise the app's own getExternalFilesDir(null).
         */
        private fun filesDir(requestFile: File): File {
            val runs = requestFile.absoluteFile.parentFile?.parentFile
            val harness = runs?.parentFile
            if (runs?.name == "runs" && harness?.name == "ava-harness" && harness.parentFile != null) {
                return harness.parentFile!!
            }
            val context = InstrumentationRegistry.getInstrumentation().targetContext
            return context.getExternalFilesDir(null)
                ?: throw IllegalStateException("the app has no external files dir (storage not mounted?)")
        }
    }
}

/** Everything the six checks of one model share. Each check brings up what it needs itself. */
class ModelState(private val session: SignoffSession, val spec: ModelRequest) {
    private val request = session.request
    val outDir = File(session.runDir, "out/${spec.modelId}")
    val result = ModelResult(spec.modelId, DeviceStats.abi(), request.executionProvider)

    private var loadAttempted = false
    private var loadError: Throwable? = null
    private var runner: OrtModelRunner? = null
    private var parity: List<FloatArray>? = null
    private var provider: SignoffEmbeddingProvider? = null
    private var providerError: Throwable? = null

    /** Runs one check: reports the status keys, records a failure in result.json, rethrows it for JUnit. */
    fun check(name: String, body: (ModelState) -> Map<String, String>?) {
        val status = LinkedHashMap<String, String>()
        status["ava.modelId"] = spec.modelId
        var failure: Throwable? = null
        try {
            body(this)?.let { status.putAll(it) }
        } catch (t: Throwable) {
            failure = t
            result.errors.add("$name: ${t.message ?: t.javaClass.name}")
        }
        try {
            result.peakMemoryKb = DeviceStats.peakMemoryKb()
            status["ava.result"] = ResultWriter.write(outDir, result).path
        } catch (t: Throwable) {
            if (failure == null) failure = t
        }
        sendStatus(status)
        failure?.let { throw it }
    }

    private fun sendStatus(values: Map<String, String>) {
        val bundle = Bundle()
        for ((key, value) in values) bundle.putString(key, value)
        InstrumentationRegistry.getInstrumentation().sendStatus(2, bundle)
    }

    // -- what the checks share ------------------------------------------------------------------

    /**
     * Loads the model once: session, sha256, cold first inference, dimension (chapter test 1). A
     * request without valid chapter thresholds fails here, before any model runs.
     */
    private fun load() {
        if (loadAttempted) return
        loadAttempted = true
        try {
            request.requireChapter()
            val active = OrtModelRunner(
                session.env, spec, File(session.files, spec.file), request.threads, request.executionProvider,
            )
            runner = active
            result.sha256 = DeviceStats.sha256(active.modelFile)
            result.loadMs = active.loadMs
            result.ortVersion = OrtModelRunner.ortVersion(session.env)
            result.executionProvider = active.executionProvider
            val started = System.nanoTime()
            val probe = active.embed(spec.tokenIds[0])
            result.coldMs = (System.nanoTime() - started) / 1e6
            result.dimension = probe.size
            result.chapterTests["test1_loads_with_dimension"] = probe.size == spec.dimension
        } catch (t: Throwable) {
            loadError = t
        }
    }

    private fun runner(): OrtModelRunner {
        load()
        return runner ?: throw AssertionError("model did not load: ${loadError?.message ?: loadError}")
    }

    /** Model-parity embeddings of every text (host token ids); written to embeddings.npy in parity modes. */
    private fun parity(): List<FloatArray> {
        parity?.let { return it }
        val active = runner()
        val rows = spec.tokenIds.map { active.embed(it) }
        parity = rows
        if (request.wantsModelParity) NpyWriter.write(File(outDir, "embeddings.npy"), rows)
        return rows
    }

    private fun provider(): SignoffEmbeddingProvider {
        provider?.let { return it }
        providerError?.let { throw AssertionError("the app's provider is unavailable: ${it.message ?: it}") }
        try {
            val context = InstrumentationRegistry.getInstrumentation().targetContext
            val model = SignoffModel(
                spec.modelId, File(session.files, spec.file), File(session.files, spec.tokenizer),
                spec.dimension, spec.maxLength,
            )
            val created = SignoffProviders.factory().create(context, model)
            val init = runBlocking { created.initialize() }
            init.exceptionOrNull()?.let { throw IllegalStateException("initialize() failed: ${it.message ?: it}", it) }
            if (created.dimension != spec.dimension) {
                throw AssertionError("the app's provider has dimension ${created.dimension}, expected ${spec.dimension}")
            }
            provider = created
            return created
        } catch (t: Throwable) {
            providerError = t
            throw t
        }
    }

    fun release() {
        try { runner?.close() } catch (t: Throwable) { Log.w("AvaSignoff", "closing ${spec.modelId}", t) }
        try { provider?.close() } catch (t: Throwable) { Log.w("AvaSignoff", "closing provider of ${spec.modelId}", t) }
        runner = null
        provider = null
        parity = null
    }

    // -- the six checks -------------------------------------------------------------------------

    fun modelLoads(): Map<String, String> {
        load()
        loadError?.let { throw it }
        val dimension = result.dimension
        if (dimension != spec.dimension) throw AssertionError("expected dimension ${spec.dimension}, got $dimension")
        return mapOf("ava.loadMs" to fmt(result.loadMs), "ava.coldMs" to fmt(result.coldMs))
    }

    fun embeddingsValid(): Map<String, String>? {
        val rows = parity()
        val chapter = request.requireChapter()
        val ok = SignoffMath.embeddingsValid(rows, chapter.normLow, chapter.normHigh)
        result.chapterTests["test2_embeddings_valid"] = ok
        if (!ok) {
            val norms = rows.map { SignoffMath.l2norm(it) }
            throw AssertionError(
                "embeddings not finite or L2 norm out of (${chapter.normLow}, ${chapter.normHigh}): " +
                    "${fmt(norms.minOrNull())}..${fmt(norms.maxOrNull())}",
            )
        }
        return null
    }

    /** Chapter test 4 through the app's provider: the request's expected document must rank first. */
    fun ragRanking(): Map<String, String>? {
        val rag = request.requireChapter().rag
        val active = provider()
        val ids = rag.documents.keys.toList()
        val vectors = runBlocking { ids.map { active.embed(rag.documents.getValue(it)) } }
        val query = runBlocking { active.embed(rag.query) }
        val ranking = SignoffMath.rank(ids, vectors, query)
        result.ragRanking = ranking
        val ok = SignoffMath.ragRankingPasses(ranking, rag.expectedFirst, rag.neverFirst)
        result.chapterTests["test4_rag_ranking"] = ok
        if (!ok) {
            throw AssertionError("expected document ${rag.expectedFirst} first (document ${rag.neverFirst} never), got $ranking")
        }
        return null
    }

    fun modelParity(): Map<String, String>? {
        val rows = parity()
        if (rows.size != spec.tokenIds.size || rows.any { it.size != spec.dimension }) {
            throw AssertionError("model-parity embeddings are ${rows.size} x ${rows.firstOrNull()?.size}, expected " +
                "${spec.tokenIds.size} x ${spec.dimension}")
        }
        return null
    }

    /** The app's tokenizer and embed(text) on every text: token_ids_e2e.json and embeddings_e2e.npy. */
    fun endToEnd(): Map<String, String>? {
        if (!request.wantsEndToEnd) return null
        val active = provider()
        val ids = request.texts.map { active.tokenize(it) }
        AtomicFiles.writeText(File(outDir, "token_ids_e2e.json"), ResultWriter.tokenIdsJson(ids))
        val rows = runBlocking { request.texts.map { active.embed(it) } }
        val wrong = rows.indexOfFirst { it.size != spec.dimension }
        if (wrong >= 0) throw AssertionError("embed(texts[$wrong]) has ${rows[wrong].size} values, expected ${spec.dimension}")
        NpyWriter.write(File(outDir, "embeddings_e2e.npy"), rows, spec.dimension)
        return null
    }

    /** texts[0] (host token ids) after `warmup` untimed runs, `iterations` timed runs. */
    fun latency(): Map<String, String> {
        val active = runner()
        val first = spec.tokenIds[0]
        val warmupStarted = System.nanoTime()
        repeat(request.warmup) { active.embed(first) }
        result.warmupMs = (System.nanoTime() - warmupStarted) / 1e6
        val samples = ArrayList<Double>(request.iterations)
        repeat(request.iterations) {
            val started = System.nanoTime()
            active.embed(first)
            samples.add((System.nanoTime() - started) / 1e6)
        }
        result.latencyMs = samples
        result.memoryKb = active.memoryKb() // contract v4: before the profiled pass's own session
        if (request.profile) {
            // Contract v3: a diagnostic after the timed runs; it never fails the check.
            try {
                result.profileMs = active.profile(first, minOf(request.iterations, PROFILE_RUNS_MAX), File(outDir, "profile.json"))
            } catch (t: Throwable) {
                Log.w("AvaSignoff", "profile[${spec.modelId}]", t)
            }
        }
        return mapOf("ava.p50Ms" to fmt(SignoffMath.percentile(samples, 50.0)))
    }

    /** Status values as the reference prints them: `%.3f`, always with a dot (Locale.ROOT). */
    private fun fmt(value: Double?): String = if (value == null) "" else String.format(Locale.ROOT, "%.3f", value)
}
