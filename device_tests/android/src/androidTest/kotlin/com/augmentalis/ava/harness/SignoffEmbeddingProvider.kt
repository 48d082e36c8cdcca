package com.augmentalis.ava.harness

import android.content.Context
import java.io.File

/**
 * What the sign-off needs from the app's embedding provider (the chapter's API). The app adapts its
 * own provider (e.g. ONNXEmbeddingProvider) to this in its androidTest source set; see README.md.
 *
 * Used by the `ragRanking` check (chapter test 4: embed the three documents and the query) and the
 * `endToEnd` check (tokenize + embed every sign-off text with the app's own tokenizer).
 */
interface SignoffEmbeddingProvider {
    /** Load the model and tokenizer; a failure is reported, not thrown. */
    suspend fun initialize(): Result<Unit>

    /** Embedding size once initialized. */
    val dimension: Int

    /** The app's embedding of one text: its tokenizer, its session, its pooling/normalisation. */
    suspend fun embed(text: String): FloatArray

    /** The token ids the app's tokenizer produces for [text] (with [CLS]/[SEP], truncated as the app does). */
    fun tokenize(text: String): LongArray

    /** Release the model; called when the sign-off moves on to the next model. */
    fun close() {}
}

/** The model the harness asks the app to load: the files it pushed, already sha256-verified. */
class SignoffModel(
    val modelId: String,
    /** FILES/models/<modelId>.onnx: where the app's loader looks first (chapter 28A.5). */
    val modelFile: File,
    /** FILES/models/<modelId>.tokenizer.json: the host's tokenizer.json (the app may use its own). */
    val tokenizerFile: File,
    val dimension: Int,
    val maxLength: Int,
)

/** Creates the app's provider for one model. */
fun interface SignoffProviderFactory {
    fun create(context: Context, model: SignoffModel): SignoffEmbeddingProvider
}

/**
 * Where the sign-off finds the app's factory: one registered with [register] (e.g. from a custom
 * runner's onCreate), else a class named [FACTORY_CLASS] with a public no-argument constructor,
 * which the app adds to its androidTest source set. Nothing else is needed on the command line.
 */
object SignoffProviders {
    const val FACTORY_CLASS = "com.augmentalis.ava.harness.AppSignoffProviderFactory"

    @Volatile
    private var registered: SignoffProviderFactory? = null

    @JvmStatic
    fun register(factory: SignoffProviderFactory) {
        registered = factory
    }

    fun factory(): SignoffProviderFactory {
        registered?.let { return it }
        val type = try {
            Class.forName(FACTORY_CLASS)
        } catch (e: ClassNotFoundException) {
            throw IllegalStateException(
                "no SignoffEmbeddingProvider: add $FACTORY_CLASS (implements SignoffProviderFactory) to the " +
                    "app's androidTest sources, or call SignoffProviders.register() (device_tests/android/README.md)",
            )
        }
        val instance = type.getDeclaredConstructor().newInstance()
        return instance as? SignoffProviderFactory
            ?: throw IllegalStateException("$FACTORY_CLASS does not implement SignoffProviderFactory")
    }
}
