// CI tool (not shipped): loads a model through the reference app's ONNXEmbeddingProvider (its
// loader, tokenizer, session, pooling) on a plain JVM over ai.onnxruntime for the JVM, so that
// tests/android_jvm/test_kotlin_provider.py can compare it with the host.
//
//   embed <modelsDir> <modelId> <texts.json> [maxLength]
//
// Prints {"modelFile", "dimension", "ids": [[...]], "embeddings": [[...]]} as JSON. When
// initialize() fails: {"error": {"type": <exception class>, "message": ...}} and exit 3.
package com.augmentalis.ava.embedding.tools

import com.augmentalis.ava.embedding.AvaModels
import com.augmentalis.ava.embedding.ONNXEmbeddingProvider
import org.json.JSONArray
import java.io.File
import kotlin.coroutines.Continuation
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.startCoroutine
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    if (args.size !in 4..5 || args[0] != "embed") {
        System.err.println("usage: ProviderCheck embed <modelsDir> <modelId> <texts.json> [maxLength]")
        exitProcess(64)
    }
    val modelId = args[2]
    val config = AvaModels.config(modelId)?.let { c -> args.getOrNull(4)?.let { c.copy(maxLength = it.toInt()) } ?: c }
    val provider = ONNXEmbeddingProvider(File(args[1]), modelId, config)
    val init = runSuspending { provider.initialize() }
    init.exceptionOrNull()?.let { error ->
        println("{\"error\": {\"type\": ${quote(error.javaClass.name)}, \"message\": ${quote(error.message ?: "")}}}")
        exitProcess(3)
    }
    val texts = JSONArray(File(args[3]).readText(Charsets.UTF_8))
    val ids = StringBuilder()
    val vectors = StringBuilder()
    for (i in 0 until texts.length()) {
        val text = texts.getString(i)
        if (i > 0) {
            ids.append(",\n")
            vectors.append(",\n")
        }
        ids.append(provider.tokenize(text).joinToString(",", "[", "]"))
        // Float.toString is the shortest decimal that reads back as the same float.
        vectors.append(runSuspending { provider.embed(text) }.joinToString(",", "[", "]"))
    }
    provider.close()
    println(
        "{\"modelFile\": ${quote(provider.modelFile.toString())}, \"dimension\": ${provider.dimension},\n" +
            "\"ids\": [$ids],\n\"embeddings\": [$vectors]}",
    )
}

/** The provider's suspend functions never suspend (no dispatcher here): run one to its result. */
private fun <T> runSuspending(block: suspend () -> T): T {
    var outcome: Result<T>? = null
    block.startCoroutine(Continuation(EmptyCoroutineContext) { outcome = it })
    return (outcome ?: throw IllegalStateException("suspended")).getOrThrow()
}
