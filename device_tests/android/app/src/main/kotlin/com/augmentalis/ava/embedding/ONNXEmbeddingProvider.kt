package com.augmentalis.ava.embedding

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import android.content.Context
import java.io.File
import java.io.FileNotFoundException
import java.nio.LongBuffer
import kotlin.math.sqrt

/**
 * A reference implementation of chapter 28A's ONNXEmbeddingProvider: the model-ID map, the loader
 * (`$modelId.onnx` in the app's external models dir, then the original's name), a WordPiece
 * tokenizer read from the tokenizer.json next to the model, one ONNX Runtime session, and the
 * model's pooling and L2 normalisation. The sign-off's end-to-end mode runs it where no AVA app
 * exists (the virtual device's JVM runs); an AVA app plugs its own provider in instead.
 *
 * The models dir is `Context.getExternalFilesDir(null)/models`, where the harness pushes
 * `<modelId>.onnx` and `<modelId>.tokenizer.json` (device_tests/CONTRACT.md, FILES/models).
 */
class ONNXEmbeddingProvider private constructor(
    private val modelsDir: () -> File,
    val modelId: String,
    config: ModelConfig?,
    private val threads: Int,
) {
    /** The chapter's constructor: the models live in the app's external files dir. */
    constructor(context: Context, modelId: String, config: ModelConfig? = null, threads: Int = 2) : this(
        { File(context.getExternalFilesDir(null) ?: throw FileNotFoundException("no external files dir (storage not mounted?)"), "models") },
        modelId, config, threads,
    )

    /** For a JVM or a test: the models in [modelsDir]. */
    constructor(modelsDir: File, modelId: String, config: ModelConfig? = null, threads: Int = 2) :
        this({ modelsDir }, modelId, config, threads)

    val config: ModelConfig = config ?: AvaModels.config(modelId)
        ?: throw IllegalArgumentException("unknown model ID $modelId (known: ${AvaModels.base.keys.joinToString()})")

    private var session: OrtSession? = null
    private var tokenizerOrNull: WordPieceTokenizer? = null

    /** The file initialize() loaded. */
    var modelFile: File? = null
        private set

    val dimension: Int get() = config.dimension

    val tokenizer: WordPieceTokenizer
        get() = tokenizerOrNull ?: throw IllegalStateException("$modelId: initialize() first")

    /** Loads the model file, the tokenizer and the session; a failure is returned, not thrown. */
    suspend fun initialize(): Result<Unit> = runCatching {
        if (session != null) return@runCatching
        val dir = modelsDir()
        val file = loadModelFile(dir)
        val tokenizer = WordPieceTokenizer.fromFile(find(dir, "Tokenizer", ".tokenizer.json"))
        val env = OrtEnvironment.getEnvironment()
        val created = OrtSession.SessionOptions().use { options ->
            options.setIntraOpNumThreads(threads)
            options.setInterOpNumThreads(1)
            env.createSession(file.absolutePath, options)
        }
        try {
            val missing = config.inputs.filter { it !in created.inputNames }
            require(missing.isEmpty()) { "$file: missing input(s) ${missing.joinToString()} that $modelId needs" }
            require(config.output in created.outputNames) {
                "$file: no output \"${config.output}\" (has ${created.outputNames.sorted().joinToString()})"
            }
        } catch (e: IllegalArgumentException) {
            created.close()
            throw e
        }
        modelFile = file
        tokenizerOrNull = tokenizer
        session = created
    }

    /** The chapter 28A.5 loader: `$modelId.onnx`, then the original's name, else FileNotFoundException. */
    fun loadModelFile(dir: File = modelsDir()): File = find(dir, "Model", ".onnx")

    private fun find(dir: File, what: String, suffix: String): File {
        val first = File(dir, "$modelId$suffix")
        if (first.exists()) return first
        val originalId = AvaModels.modelIdMap[modelId] ?: config.original
        val fallback = File(dir, "$originalId$suffix")
        if (fallback.exists()) return fallback
        // The chapter's message, plus both places looked at (what a failing sign-off needs to say).
        throw FileNotFoundException("$what not found: $modelId (tried $first, then $fallback)")
    }

    /** Token ids (with the special tokens, truncated to the model's maxLength). */
    fun tokenize(text: String): LongArray = tokenizer.encode(text, config.maxLength)

    /** The embedding of [text]: tokenizer, session, pooling and normalisation as the model needs. */
    suspend fun embed(text: String): FloatArray = embedIds(tokenize(text))

    fun embedIds(ids: LongArray): FloatArray {
        val active = session ?: throw IllegalStateException("$modelId: initialize() first")
        val env = OrtEnvironment.getEnvironment()
        val shape = longArrayOf(1, ids.size.toLong())
        val feeds = LinkedHashMap<String, OnnxTensor>()
        try {
            for (name in config.inputs) {
                val values = when (name) {
                    "input_ids" -> ids
                    "attention_mask" -> LongArray(ids.size) { 1L }
                    "token_type_ids" -> LongArray(ids.size)
                    else -> throw IllegalArgumentException("$modelId: unsupported model input \"$name\"")
                }
                feeds[name] = OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape)
            }
            active.run(feeds, setOf(config.output)).use { result ->
                val tensor = result.get(config.output).orElse(null) as? OnnxTensor
                    ?: throw IllegalStateException("$modelId: output \"${config.output}\" is not a tensor")
                val buffer = tensor.floatBuffer
                    ?: throw IllegalStateException("$modelId: output \"${config.output}\" is not a float tensor")
                val values = FloatArray(buffer.remaining())
                buffer.get(values)
                return pool(values, tensor.info.shape)
            }
        } finally {
            feeds.values.forEach { it.close() }
        }
    }

    /** [1, dim] as is; [1, seq, dim] by the first token ("cls") or the mean (every token is real). */
    private fun pool(values: FloatArray, shape: LongArray): FloatArray {
        val pooled = when (shape.size) {
            2 -> values.copyOf(shape[1].toInt())
            3 -> {
                val seq = shape[1].toInt()
                val dim = shape[2].toInt()
                if (config.pooling == "cls") {
                    values.copyOf(dim)
                } else {
                    // Summed in float in token order, as numpy does for (output * mask).sum(axis=1).
                    FloatArray(dim) { d -> (0 until seq).fold(0f) { acc, t -> acc + values[t * dim + d] } / seq }
                }
            }
            else -> throw IllegalStateException("$modelId: output shape ${shape.contentToString()}, expected 2 or 3 dims")
        }
        if (config.normalize) {
            val norm = sqrt(pooled.fold(0.0) { acc, v -> acc + v.toDouble() * v }).toFloat().coerceAtLeast(1e-12f)
            for (i in pooled.indices) pooled[i] /= norm
        }
        return pooled
    }

    fun close() {
        session?.close()
        session = null
    }
}
