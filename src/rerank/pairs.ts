/**
 * (query, passage) pairs tokenized as Hugging Face tokenizers do for `tokenizer(query, text_pair=passage,
 * truncation="longest_first", max_length=n)`, which is what sentence-transformers' CrossEncoder feeds its model:
 *
 *   BERT      [CLS] query [SEP] passage [SEP]         token_type_ids 0 ... 0 1 ... 1
 *   RoBERTa   <s> query </s></s> passage </s>         token_type_ids all 0 (its tokenizer returns none; the
 *                                                     model's one-row type table is read with zeros)
 *
 * The template is the pair template of tokenizer.json's post_processor (TemplateProcessing, BertProcessing or
 * RobertaProcessing, also inside a Sequence). Truncation follows the Rust tokenizers library's LongestFirst on the
 * two contents, with the room left after the template's special tokens (max_length - specials):
 *   let n1 <= n2 be the shorter and longer content; the longer is cut to max(n1, room - n1); when that still does
 *   not fit, the shorter gets floor(room / 2) and the longer the rest; each keeps its first tokens.
 * transformers.js does not do this (it cuts the whole sequence at max_length, dropping the final [SEP] and the
 * passage's tail with it), so pairs are never handed to it for truncation.
 */
import type { Tokenizer } from "../model/tokenizer";
import type { TokenizedBatch } from "../model/types";
import type { TextPair } from "./types";

export interface EncodedPair {
  ids: number[];
  typeIds: number[];
  truncated: boolean;
}

/** Encodes pairs with a model's tokenizer: template, LongestFirst truncation at maxLength, right padding. */
export class PairEncoder {
  readonly maxLength: number;

  /**
   * `typeIds: false` writes token type 0 everywhere (RoBERTa-style models, whose tokenizers return no
   * token_type_ids, so the model reads zeros).
   */
  constructor(
    readonly tokenizer: Tokenizer,
    maxLength: number,
    private readonly options: { typeIds: boolean; source?: string },
  ) {
    // An empty pair is the template's special tokens alone.
    const specials = tokenizer.encodePair("", "", Number.MAX_SAFE_INTEGER).ids.length;
    if (!Number.isInteger(maxLength) || maxLength <= specials)
      throw new RangeError(
        `${options.source ?? "cross-encoder"}: max_length ${maxLength} must be an integer above the ${specials} special tokens of a pair.`,
      );
    this.maxLength = maxLength;
  }

  /** The pair as Tokenizer.encodePair gives it (template, LongestFirst), types zeroed where the model has none. */
  encode(pair: TextPair): EncodedPair {
    const e = this.tokenizer.encodePair(pair[0], pair[1], this.maxLength);
    return { ids: e.ids, typeIds: this.options.typeIds ? e.typeIds : e.typeIds.map(() => 0), truncated: e.truncated };
  }

  /** Tokens of each pair after truncation, special tokens included. */
  tokenCounts(pairs: readonly TextPair[]): number[] {
    return pairs.map((p) => this.encode(p).ids.length);
  }

  /** One batch padded to its longest pair. */
  encodeBatch(pairs: readonly TextPair[]): TokenizedBatch {
    return this.pad(pairs.map((p) => this.encode(p)));
  }

  pad(encoded: readonly EncodedPair[]): TokenizedBatch {
    const pad = this.tokenizer.padTokenId;
    if (pad === undefined)
      throw new Error(`${this.options.source ?? "tokenizer"}/tokenizer_config.json: no pad_token; set "pad_token".`);
    const batchSize = encoded.length;
    const seqLen = encoded.reduce((m, e) => Math.max(m, e.ids.length), 0);
    const inputIds = new Int32Array(batchSize * seqLen).fill(pad);
    const attentionMask = new Int32Array(batchSize * seqLen);
    const tokenTypeIds = new Int32Array(batchSize * seqLen);
    encoded.forEach((e, row) => {
      inputIds.set(e.ids, row * seqLen);
      tokenTypeIds.set(e.typeIds, row * seqLen);
      attentionMask.fill(1, row * seqLen, row * seqLen + e.ids.length);
    });
    const truncated = encoded.filter((e) => e.truncated).length;
    return { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen, truncated };
  }
}
