// CI tool (not shipped): runs the reference app's WordPiece tokenizer on a plain JVM so that
// tests/android_jvm/test_kotlin_tokenizer.py can compare it with the host's `tokenizers`.
//
//   tokenize <tokenizer.json> <texts.json> <maxLength>   texts.json: a JSON list of strings;
//                                                        prints a JSON list of token-id lists
//   models                                               prints the provider's model-ID map and
//                                                        configurations as JSON (vs models/registry.toml)
//
// Exit 0 on success; 2 with `error: ...` on stderr when an input is rejected.
package com.augmentalis.ava.embedding.tools

import com.augmentalis.ava.embedding.AvaModels
import com.augmentalis.ava.embedding.WordPieceTokenizer
import org.json.JSONArray
import java.io.File
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    try {
        when (args.firstOrNull()) {
            "tokenize" -> tokenize(File(args[1]), File(args[2]), args[3].toInt())
            "models" -> println(modelsJson())
            else -> {
                System.err.println("usage: TokenizerCheck tokenize <tokenizer.json> <texts.json> <maxLength> | models")
                exitProcess(64)
            }
        }
    } catch (e: IllegalArgumentException) {
        System.err.println("error: ${e.message}")
        exitProcess(2)
    }
}

private fun tokenize(tokenizerFile: File, textsFile: File, maxLength: Int) {
    val tokenizer = WordPieceTokenizer.fromFile(tokenizerFile)
    val texts = JSONArray(textsFile.readText(Charsets.UTF_8))
    val out = StringBuilder("[")
    for (i in 0 until texts.length()) {
        if (i > 0) out.append(",\n")
        out.append(tokenizer.encode(texts.getString(i), maxLength).joinToString(",", "[", "]"))
    }
    println(out.append("]"))
}

internal fun quote(text: String): String {
    val out = StringBuilder("\"")
    for (c in text) {
        when {
            c == '"' || c == '\\' -> out.append('\\').append(c)
            c < ' ' -> out.append(String.format("\\u%04x", c.code))
            else -> out.append(c)
        }
    }
    return out.append('"').toString()
}

private fun modelsJson(): String {
    val models = AvaModels.base.entries.joinToString(",\n") { (id, c) ->
        "  ${quote(id)}: {\"original\": ${quote(c.original)}, \"dimension\": ${c.dimension}, " +
            "\"inputs\": ${c.inputs.joinToString(", ", "[", "]") { quote(it) }}, \"output\": ${quote(c.output)}, " +
            "\"pooling\": ${quote(c.pooling)}, \"normalize\": ${c.normalize}, \"maxLength\": ${c.maxLength}}"
    }
    val map = AvaModels.modelIdMap.entries.joinToString(", ") { (id, original) -> "${quote(id)}: ${quote(original)}" }
    return "{\"models\": {\n$models\n}, \"modelIdMap\": {$map}}"
}
