package com.augmentalis.ava.harness

import android.content.Context
import com.augmentalis.ava.embedding.AvaModels
import com.augmentalis.ava.embedding.ONNXEmbeddingProvider

/**
 * The sign-off's adapter over the app's embedding provider, the shape an AVA app puts into its own
 * androidTest source set (device_tests/android/README.md). This one wraps the reference
 * ONNXEmbeddingProvider (device_tests/android/app/): the virtual device's JVM runs use it; an app
 * replaces this file with the same class over its own provider.
 */
class AppSignoffProviderFactory : SignoffProviderFactory {
    override fun create(context: Context, model: SignoffModel): SignoffEmbeddingProvider {
        // The provider's own configuration (the registry's facts), with the request's maxLength,
        // so truncation follows what the harness asked for. Its loader looks in
        // getExternalFilesDir(null)/models, where the harness pushed model.modelFile.
        val config = AvaModels.config(model.modelId)?.copy(maxLength = model.maxLength)
        val app = ONNXEmbeddingProvider(context, model.modelId, config)
        return object : SignoffEmbeddingProvider {
            override suspend fun initialize() = app.initialize()
            override val dimension get() = app.dimension
            override suspend fun embed(text: String) = app.embed(text)
            override fun tokenize(text: String) = app.tokenize(text)
            override fun close() = app.close()
        }
    }
}
