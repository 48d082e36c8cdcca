package com.augmentalis.ava.harness

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtException
import ai.onnxruntime.OrtSession
import java.io.File
import java.io.FileNotFoundException
import java.nio.LongBuffer

/**
 * Model parity: the pushed model file in an OrtSession of its own, fed the host's token ids, one
 * text at a time (as the app's embed(text) does), pooled as the request says.
 */
class OrtModelRunner(
    private val env: OrtEnvironment,
    private val spec: ModelRequest,
    val modelFile: File,
    private val threads: Int,
    requestedProvider: String,
) : AutoCloseable {
    val session: OrtSession
    val loadMs: Double

    /** Contract v4: the process's resident size before and after the load and its peak during it (kB). */
    val loadMemoryKb: Map<String, Long>

    /** The provider in use: the requested one, or "CPU (fallback from X)" when X is unavailable. */
    val executionProvider: String

    init {
        if (!modelFile.isFile) throw FileNotFoundException("Model not found: ${spec.modelId} ($modelFile)")
        val options = OrtSession.SessionOptions()
        options.setIntraOpNumThreads(threads)
        options.setInterOpNumThreads(1)
        executionProvider = try {
            when (requestedProvider) {
                "NNAPI" -> options.addNnapi()
                "XNNPACK" -> options.addXnnpack(mapOf("intra_op_num_threads" to threads.toString()))
            }
            requestedProvider
        } catch (e: OrtException) {
            "CPU (fallback from $requestedProvider)"
        }
        val before = DeviceStats.statusKb("VmRSS")
        DeviceStats.resetPeak()
        val started = System.nanoTime()
        session = env.createSession(modelFile.absolutePath, options)
        loadMs = (System.nanoTime() - started) / 1e6
        val peak = DeviceStats.peakSinceKb(before)
        val after = DeviceStats.statusKb("VmRSS")
        DeviceStats.resetPeak()
        loadMemoryKb = linkedMapOf("beforeLoad" to before, "peakLoad" to peak, "afterLoad" to after)
        options.close()
    }

    fun embed(ids: LongArray): FloatArray = embed(ids, session)

    /** result.json's memoryKb (v4): the load's figures and the peak of the inferences since. */
    fun memoryKb(): LinkedHashMap<String, Long> {
        val memory = LinkedHashMap(loadMemoryKb)
        memory["peakInference"] = DeviceStats.peakSinceKb(loadMemoryKb["afterLoad"] ?: 0L)
        return memory
    }

    private fun embed(ids: LongArray, session: OrtSession): FloatArray {
        val shape = longArrayOf(1, ids.size.toLong())
        val feeds = LinkedHashMap<String, OnnxTensor>()
        try {
            for (name in spec.inputs) {
                val values = when (name) {
                    "input_ids" -> ids
                    "attention_mask" -> LongArray(ids.size) { 1L }
                    "token_type_ids" -> LongArray(ids.size)
                    else -> throw IllegalArgumentException("${spec.modelId}: unsupported model input \"$name\"")
                }
                feeds[name] = OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape)
            }
            session.run(feeds, setOf(spec.output)).use { result ->
                val value = result.get(spec.output).orElse(null)
                    ?: throw IllegalStateException("${spec.modelId}: no output \"${spec.output}\"")
                val tensor = value as? OnnxTensor
                    ?: throw IllegalStateException("${spec.modelId}: output \"${spec.output}\" is not a tensor")
                val buffer = tensor.floatBuffer
                    ?: throw IllegalStateException("${spec.modelId}: output \"${spec.output}\" is not a float tensor")
                val values = FloatArray(buffer.remaining())
                buffer.get(values)
                return SignoffMath.pool(values, tensor.info.shape, spec.pooling, spec.normalize)
            }
        } finally {
            feeds.values.forEach { it.close() }
        }
    }

    /**
     * Contract v3's profiled pass: a separate session with ONNX Runtime's profiler
     * (SessionOptions.enableProfiling) runs [ids] [runs] times on CPU; its profile is renamed to
     * [target] when complete. Returns the runs' wall time in ms (session creation excluded).
     */
    fun profile(ids: LongArray, runs: Int, target: File): Double {
        val options = OrtSession.SessionOptions()
        val profiled: OrtSession
        try {
            options.setIntraOpNumThreads(threads)
            options.setInterOpNumThreads(1)
            options.enableProfiling(File(target.parentFile, ".profile-" + System.nanoTime()).absolutePath)
            profiled = env.createSession(modelFile.absolutePath, options)
        } finally {
            options.close()
        }
        try {
            val started = System.nanoTime()
            repeat(runs) { embed(ids, profiled) }
            val elapsed = (System.nanoTime() - started) / 1e6
            val written = profiled.endProfiling()
            if (!File(written).renameTo(target)) throw java.io.IOException("cannot rename $written to $target")
            return elapsed
        } finally {
            profiled.close()
        }
    }

    override fun close() = session.close()

    companion object {
        /** OrtEnvironment.getVersion() where this onnxruntime-android has it, else the jar's manifest. */
        fun ortVersion(env: OrtEnvironment): String {
            val viaApi = try {
                env.javaClass.getMethod("getVersion").invoke(env) as? String
            } catch (e: ReflectiveOperationException) {
                null
            }
            return viaApi ?: OrtEnvironment::class.java.`package`?.implementationVersion ?: ""
        }
    }
}
