package com.augmentalis.ava.embedding

/** How the app feeds and reads one model: the same facts as the harness's models/registry.toml. */
data class ModelConfig(
    /** The original model's name; its file `<original>.onnx` is the loader's fallback. */
    val original: String,
    val dimension: Int,
    val inputs: List<String> = listOf("input_ids", "attention_mask"),
    val output: String = "sentence_embedding",
    /** "none" = the graph already pools; "mean" = masked mean over tokens; "cls" = first token. */
    val pooling: String = "none",
    /** L2-normalise after pooling. */
    val normalize: Boolean = false,
    /** Token ids per text, special tokens included; longer texts are truncated. */
    val maxLength: Int = 256,
)

/**
 * The chapter's model-ID map (28A.5) with each model's configuration. A quantized variant
 * (`<ID>-INT8`, `<ID>-FP16`) maps to the same original and configuration as its base ID.
 */
object AvaModels {
    private val BERT_INPUTS = listOf("input_ids", "attention_mask", "token_type_ids")

    val base: Map<String, ModelConfig> = linkedMapOf(
        "AVA-ONX-384-BASE" to ModelConfig("all-MiniLM-L6-v2", 384, BERT_INPUTS, "sentence_embedding", "none", false, 256),
        // Third-party ONNX kept as shipped: output "461" is the mean-pooled, unnormalised vector.
        "AVA-ONX-384-FAST" to ModelConfig("paraphrase-MiniLM-L3-v2", 384, listOf("input_ids", "attention_mask"), "461", "none", true, 128),
        "AVA-ONX-768-QUAL" to ModelConfig("all-mpnet-base-v2", 768, listOf("input_ids", "attention_mask"), "sentence_embedding", "none", false, 384),
        // In the chapter's map; no FP32 weights exist here, and its tokenizer is not WordPiece.
        "AVA-ONX-384-MULTI" to ModelConfig("paraphrase-multilingual-MiniLM-L12-v2", 384),
    )

    val variants = listOf("INT8", "FP16")

    /** The chapter's `modelIdMap`: every base ID and its variants to the original's name. */
    val modelIdMap: Map<String, String> = LinkedHashMap<String, String>().apply {
        for ((id, config) in base) put(id, config.original)
        for ((id, config) in base) for (variant in variants) put("$id-$variant", config.original)
    }

    /** The base ID of [modelId] (a variant suffix is matched case-insensitively, as the harness does). */
    fun baseId(modelId: String): String {
        for (variant in variants) {
            val suffix = "-$variant"
            if (modelId.uppercase().endsWith(suffix)) return modelId.substring(0, modelId.length - suffix.length)
        }
        return modelId
    }

    fun config(modelId: String): ModelConfig? = base[baseId(modelId)]
}
