package com.augmentalis.ava.harness

import kotlin.math.ceil
import kotlin.math.floor
import kotlin.math.max
import kotlin.math.sqrt

/** The numeric rules of the Python reference (ava_reference/runner.py), for one text. */
object SignoffMath {
    /**
     * `_pool` for a batch of one: a rank-3 output `[1, seq, dim]` is mean-pooled over the sequence
     * (every position is real: one unpadded text) or, with "cls", takes position 0; a rank-2
     * `[1, dim]` output is used as is. Then the optional L2 normalisation (norm clipped at 1e-12).
     */
    fun pool(output: FloatArray, shape: LongArray, pooling: String, normalize: Boolean): FloatArray {
        val pooled = when (shape.size) {
            3 -> {
                require(shape[0] == 1L) { "expected a batch of one, got shape ${shape.toList()}" }
                val seq = shape[1].toInt()
                val dim = shape[2].toInt()
                require(output.size == seq * dim) { "output has ${output.size} values for shape ${shape.toList()}" }
                if (pooling == "cls") {
                    output.copyOfRange(0, dim)
                } else {
                    val sums = DoubleArray(dim)
                    for (t in 0 until seq) for (d in 0 until dim) sums[d] += output[t * dim + d].toDouble()
                    val count = max(seq.toDouble(), 1e-9)
                    FloatArray(dim) { d -> (sums[d] / count).toFloat() }
                }
            }
            2 -> {
                require(shape[0] == 1L) { "expected a batch of one, got shape ${shape.toList()}" }
                require(output.size.toLong() == shape[1]) { "output has ${output.size} values for shape ${shape.toList()}" }
                output.copyOf()
            }
            else -> throw IllegalArgumentException("unsupported output rank ${shape.size} (shape ${shape.toList()})")
        }
        if (!normalize) return pooled
        val norm = max(l2norm(pooled), 1e-12)
        return FloatArray(pooled.size) { i -> (pooled[i] / norm).toFloat() }
    }

    fun l2norm(v: FloatArray): Double {
        var sum = 0.0
        for (x in v) sum += x.toDouble() * x.toDouble()
        return sqrt(sum)
    }

    fun cosine(a: FloatArray, b: FloatArray): Double {
        require(a.size == b.size) { "vectors of ${a.size} and ${b.size} values" }
        var dot = 0.0
        for (i in a.indices) dot += a[i].toDouble() * b[i].toDouble()
        return dot / (l2norm(a) * l2norm(b))
    }

    /** Chapter test 2: every value finite and every L2 norm in the open range (low, high) of the request. */
    fun embeddingsValid(rows: List<FloatArray>, low: Double, high: Double): Boolean = rows.all { row ->
        val norm = l2norm(row)
        row.all { it.isFinite() } && norm > low && norm < high
    }

    /** Chapter test 4: the expected document first, and the first is never the excluded one. */
    fun ragRankingPasses(ranking: List<String>, expectedFirst: String, neverFirst: String): Boolean {
        val first = ranking.firstOrNull() ?: return false
        return first == expectedFirst && first != neverFirst
    }

    /** Document ids by descending cosine to the query; ties keep the documents' order (stable). */
    fun rank(ids: List<String>, vectors: List<FloatArray>, query: FloatArray): List<String> {
        require(ids.size == vectors.size)
        val scores = vectors.map { cosine(it, query) }
        return ids.indices.sortedWith(compareByDescending<Int> { scores[it] }).map { ids[it] }
    }

    /** numpy.percentile's default (linear) interpolation. */
    fun percentile(samples: List<Double>, q: Double): Double {
        require(samples.isNotEmpty()) { "no samples" }
        val sorted = samples.sorted()
        val pos = (sorted.size - 1) * q / 100.0
        val lo = floor(pos).toInt()
        val hi = ceil(pos).toInt()
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
    }
}
