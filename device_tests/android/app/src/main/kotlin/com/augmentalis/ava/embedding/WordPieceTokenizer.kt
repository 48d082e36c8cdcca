package com.augmentalis.ava.embedding

import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import java.text.Normalizer
import java.util.Locale

/**
 * A BERT WordPiece tokenizer read from a Hugging Face `tokenizer.json`, written from the algorithm
 * as an app ships one (no native `tokenizers`): added tokens split out of the raw text, then
 * BertNormalizer (clean_text, handle_chinese_chars, strip_accents, lowercase), BertPreTokenizer
 * (whitespace, isolated punctuation), greedy longest-match WordPiece with the `##` continuing
 * prefix and `max_input_chars_per_word`, the post-processor's special tokens ([CLS] ... [SEP] or
 * RobertaProcessing's <s> ... </s>), and truncation to a maximum length that keeps the closing
 * special token.
 *
 * It follows the Rust `tokenizers` rules character for character (the host's tokenizer; the
 * end-to-end sign-off compares both), which `ava_reference/wordpiece.py` implements in Python.
 * Characters are Unicode code points throughout (a Kotlin String is UTF-16), as in Rust.
 */
class WordPieceTokenizer(spec: JSONObject) {
    private val vocab: HashMap<String, Int>
    private val unkId: Int
    private val prefix: String
    private val maxCharsPerWord: Int
    private val cleanText: Boolean
    private val handleChineseChars: Boolean
    private val stripAccents: Boolean
    private val lowercase: Boolean

    /** Ids around the text (the post-processor's single-sequence template). */
    val prefixIds: IntArray
    val suffixIds: IntArray

    /** Added tokens matched on the raw text (normalized = false) and on the normalized text. */
    private val rawAdded: List<AddedToken>
    private val normalizedAdded: List<AddedToken>

    private class AddedToken(val content: String, val id: Int, val lstrip: Boolean, val rstrip: Boolean)

    init {
        val model = spec.getJSONObject("model")
        val type = model.optString("type", "")
        require(type == "WordPiece") { "not a WordPiece tokenizer (model.type = \"$type\")" }
        val vocabJson = model.getJSONObject("vocab")
        vocab = HashMap(vocabJson.length() * 2)
        for (key in vocabJson.keys()) vocab[key] = vocabJson.getInt(key)
        val unk = model.optString("unk_token", "[UNK]")
        unkId = vocab[unk] ?: throw IllegalArgumentException("unk_token \"$unk\" is not in the vocabulary")
        prefix = model.optString("continuing_subword_prefix", "##")
        maxCharsPerWord = model.optInt("max_input_chars_per_word", 100)

        val normalizer = spec.opt("normalizer") as? JSONObject
        if (normalizer != null) {
            val kind = normalizer.optString("type", "")
            require(kind == "BertNormalizer") { "unsupported normalizer \"$kind\" (BertNormalizer only)" }
        }
        cleanText = normalizer?.optBoolean("clean_text", true) ?: false
        handleChineseChars = normalizer?.optBoolean("handle_chinese_chars", true) ?: false
        lowercase = normalizer?.optBoolean("lowercase", true) ?: false
        // strip_accents null means "as lowercase" (tokenizers' BertNormalizer and BERT's BasicTokenizer).
        val strip = normalizer?.opt("strip_accents")
        stripAccents = if (strip is Boolean) strip else lowercase

        val preTokenizer = spec.opt("pre_tokenizer") as? JSONObject
        val preType = preTokenizer?.optString("type", "") ?: "BertPreTokenizer"
        require(preType == "BertPreTokenizer") { "unsupported pre_tokenizer \"$preType\" (BertPreTokenizer only)" }

        val special = postProcessor(spec.opt("post_processor") as? JSONObject)
        prefixIds = special.first
        suffixIds = special.second

        val raw = ArrayList<AddedToken>()
        val normalized = ArrayList<AddedToken>()
        val added = spec.opt("added_tokens") as? JSONArray
        for (i in 0 until (added?.length() ?: 0)) {
            val entry = added!!.getJSONObject(i)
            require(!entry.optBoolean("single_word", false)) { "added token with single_word is not supported" }
            val isNormalized = entry.optBoolean("normalized", !entry.optBoolean("special", false))
            // A normalized added token is looked for in normalized text, so its pattern is normalized too.
            val content = entry.getString("content")
            val token = AddedToken(
                if (isNormalized) normalize(content) else content,
                entry.getInt("id"),
                entry.optBoolean("lstrip", false),
                entry.optBoolean("rstrip", false),
            )
            if (token.content.isEmpty()) continue
            if (isNormalized) normalized.add(token) else raw.add(token)
        }
        rawAdded = raw
        normalizedAdded = normalized
    }

    /** Token ids of [text] with the special tokens, truncated to [maxLength] ids (the end token kept). */
    fun encode(text: String, maxLength: Int): LongArray {
        val room = maxLength - prefixIds.size - suffixIds.size
        require(room >= 0) { "maxLength $maxLength leaves no room for the special tokens" }
        val body = ArrayList<Int>()
        for ((piece, rawId) in splitAdded(text, rawAdded)) {
            if (rawId != null) {
                body.add(rawId)
                continue
            }
            for ((normalizedPiece, id) in splitAdded(normalize(piece), normalizedAdded)) {
                if (id != null) body.add(id) else preTokenize(normalizedPiece).forEach { wordPiece(it, body) }
            }
        }
        val kept = if (body.size > room) body.subList(0, room) else body
        val out = LongArray(prefixIds.size + kept.size + suffixIds.size)
        var at = 0
        for (id in prefixIds) out[at++] = id.toLong()
        for (id in kept) out[at++] = id.toLong()
        for (id in suffixIds) out[at++] = id.toLong()
        return out
    }

    /** BertNormalizer, in its order: clean_text, handle_chinese_chars, strip_accents, lowercase. */
    fun normalize(text: String): String {
        val out = StringBuilder(text.length + 8)
        var i = 0
        while (i < text.length) {
            val cp = text.codePointAt(i)
            i += Character.charCount(cp)
            if (cleanText) {
                if (cp == 0 || cp == 0xFFFD || isControl(cp)) continue
                if (isWhitespace(cp)) {
                    out.append(' ')
                    continue
                }
            }
            if (handleChineseChars && isChinese(cp)) {
                out.append(' ').appendCodePoint(cp).append(' ')
            } else {
                out.appendCodePoint(cp)
            }
        }
        var result = out.toString()
        if (stripAccents) {
            val decomposed = Normalizer.normalize(result, Normalizer.Form.NFD)
            val kept = StringBuilder(decomposed.length)
            decomposed.forEachCodePoint { if (Character.getType(it) != Character.NON_SPACING_MARK.toInt()) kept.appendCodePoint(it) }
            result = kept.toString()
        }
        if (lowercase) {
            // Per character, as Rust's char::to_lowercase (no context-dependent final sigma).
            val lower = StringBuilder(result.length)
            result.forEachCodePoint { lower.append(String(Character.toChars(it)).lowercase(Locale.ROOT)) }
            result = lower.toString()
        }
        return result
    }

    /** BertPreTokenizer: split on whitespace (dropped) and around each punctuation character (kept). */
    fun preTokenize(text: String): List<String> {
        val words = ArrayList<String>()
        val current = StringBuilder()
        var i = 0
        while (i < text.length) {
            val cp = text.codePointAt(i)
            i += Character.charCount(cp)
            if (isWhitespace(cp) || isPunctuation(cp)) {
                if (current.isNotEmpty()) {
                    words.add(current.toString())
                    current.setLength(0)
                }
                if (!isWhitespace(cp)) words.add(String(Character.toChars(cp)))
            } else {
                current.appendCodePoint(cp)
            }
        }
        if (current.isNotEmpty()) words.add(current.toString())
        return words
    }

    /** Greedy longest-match-first WordPiece; a word with any unmatched rest becomes one unk token. */
    private fun wordPiece(word: String, out: MutableList<Int>) {
        val cps = IntArray(word.codePointCount(0, word.length))
        var n = 0
        word.forEachCodePoint { cps[n++] = it }
        if (cps.size > maxCharsPerWord) {
            out.add(unkId)
            return
        }
        val pieces = ArrayList<Int>()
        var start = 0
        while (start < cps.size) {
            var end = cps.size
            var found: Int? = null
            while (start < end) {
                val sub = String(cps, start, end - start)
                found = vocab[if (start == 0) sub else prefix + sub]
                if (found != null) break
                end--
            }
            if (found == null) {
                out.add(unkId)
                return
            }
            pieces.add(found)
            start = end
        }
        out.addAll(pieces)
    }

    /**
     * Splits [text] at the leftmost-longest occurrences of [tokens] (tokenizers' AddedVocabulary):
     * (piece, null) for the text between matches, (content, id) for a match. lstrip/rstrip
     * tokens also take the whitespace next to them.
     */
    private fun splitAdded(text: String, tokens: List<AddedToken>): List<Pair<String, Int?>> {
        if (tokens.isEmpty()) return listOf(text to null)
        val parts = ArrayList<Pair<String, Int?>>()
        var pieceStart = 0
        var i = 0
        while (i < text.length) {
            var best: AddedToken? = null
            for (token in tokens) {
                if (text.startsWith(token.content, i) && (best == null || token.content.length > best.content.length)) {
                    best = token
                }
            }
            if (best == null) {
                i += Character.charCount(text.codePointAt(i))
                continue
            }
            var matchStart = i
            var matchEnd = i + best.content.length
            if (best.lstrip) {
                while (matchStart > pieceStart && isWhitespace(text.codePointBefore(matchStart))) {
                    matchStart -= Character.charCount(text.codePointBefore(matchStart))
                }
            }
            if (best.rstrip) {
                while (matchEnd < text.length && isWhitespace(text.codePointAt(matchEnd))) {
                    matchEnd += Character.charCount(text.codePointAt(matchEnd))
                }
            }
            if (matchStart > pieceStart) parts.add(text.substring(pieceStart, matchStart) to null)
            parts.add(best.content to best.id)
            pieceStart = matchEnd
            i = matchEnd
        }
        if (pieceStart < text.length) parts.add(text.substring(pieceStart) to null)
        return parts
    }

    private fun postProcessor(processor: JSONObject?): Pair<IntArray, IntArray> {
        if (processor == null) return IntArray(0) to IntArray(0)
        return when (val kind = processor.optString("type", "")) {
            "TemplateProcessing" -> {
                val specials = processor.opt("special_tokens") as? JSONObject
                val before = ArrayList<Int>()
                val after = ArrayList<Int>()
                var seenSequence = false
                val single = processor.getJSONArray("single")
                for (i in 0 until single.length()) {
                    val item = single.getJSONObject(i)
                    if (item.has("Sequence")) {
                        seenSequence = true
                        continue
                    }
                    val name = item.getJSONObject("SpecialToken").getString("id")
                    val ids = specials?.opt(name) as? JSONObject
                    val list = ids?.getJSONArray("ids")?.let { a -> (0 until a.length()).map { a.getInt(it) } }
                        ?: listOf(vocab[name] ?: throw IllegalArgumentException("special token \"$name\" has no id"))
                    (if (seenSequence) after else before).addAll(list)
                }
                before.toIntArray() to after.toIntArray()
            }
            "BertProcessing", "RobertaProcessing" ->
                intArrayOf(processor.getJSONArray("cls").getInt(1)) to intArrayOf(processor.getJSONArray("sep").getInt(1))
            else -> throw IllegalArgumentException("unsupported post_processor \"$kind\"")
        }
    }

    companion object {
        // Not CharSequence.codePoints(): that needs Android API 24.
        private inline fun String.forEachCodePoint(action: (Int) -> Unit) {
            var i = 0
            while (i < length) {
                val cp = codePointAt(i)
                action(cp)
                i += Character.charCount(cp)
            }
        }

        fun fromFile(file: File): WordPieceTokenizer {
            val spec = try {
                JSONObject(file.readText(Charsets.UTF_8))
            } catch (e: org.json.JSONException) {
                throw IllegalArgumentException("$file: not a tokenizer.json (${e.message})", e)
            }
            return try {
                WordPieceTokenizer(spec)
            } catch (e: IllegalArgumentException) {
                throw IllegalArgumentException("$file: ${e.message}", e)
            }
        }

        /**
         * Other (Cc, Cf, Co, Cs) except tab, newline and carriage return, which are whitespace.
         * Unassigned code points (Cn) are kept, as `tokenizers` keeps them: they become [UNK].
         */
        fun isControl(cp: Int): Boolean {
            if (cp == '\t'.code || cp == '\n'.code || cp == '\r'.code) return false
            return when (Character.getType(cp)) {
                Character.CONTROL.toInt(), Character.FORMAT.toInt(),
                Character.PRIVATE_USE.toInt(), Character.SURROGATE.toInt(),
                -> true
                else -> false
            }
        }

        /** Unicode White_Space (Rust's char::is_whitespace); Java's isWhitespace differs (no NBSP). */
        fun isWhitespace(cp: Int): Boolean = when (cp) {
            in 0x09..0x0D, 0x20, 0x85, 0xA0, 0x1680, in 0x2000..0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true
            else -> false
        }

        fun isPunctuation(cp: Int): Boolean {
            if (cp in 33..47 || cp in 58..64 || cp in 91..96 || cp in 123..126) return true
            return when (Character.getType(cp)) {
                Character.CONNECTOR_PUNCTUATION.toInt(), Character.DASH_PUNCTUATION.toInt(),
                Character.START_PUNCTUATION.toInt(), Character.END_PUNCTUATION.toInt(),
                Character.INITIAL_QUOTE_PUNCTUATION.toInt(), Character.FINAL_QUOTE_PUNCTUATION.toInt(),
                Character.OTHER_PUNCTUATION.toInt(),
                -> true
                else -> false
            }
        }

        /** The CJK blocks BERT pads with spaces (tokenizers' is_chinese_char). */
        fun isChinese(cp: Int): Boolean =
            cp in 0x4E00..0x9FFF || cp in 0x3400..0x4DBF || cp in 0x20000..0x2A6DF || cp in 0x2A700..0x2B73F ||
                cp in 0x2B740..0x2B81F || cp in 0x2B920..0x2CEAF || cp in 0xF900..0xFAFF || cp in 0x2F800..0x2FA1F
    }
}
