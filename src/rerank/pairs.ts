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

type Json = Record<string, unknown>;

/** One slot of a pair template: a special token's ids or sequence A / B, with its token type. */
type Slot = { special: number[]; typeId: number } | { sequence: "A" | "B"; typeId: number };

export interface EncodedPair {
  ids: number[];
  typeIds: number[];
  truncated: boolean;
}

function processorSlots(pp: Json, source: string): Slot[] | undefined {
  const tokenId = (v: unknown) => (Array.isArray(v) ? Number(v[1]) : Number.NaN);
  if (pp.type === "TemplateProcessing") {
    const specials = (pp.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
    return (pp.pair as Json[]).map((item): Slot => {
      if ("SpecialToken" in item) {
        const s = item.SpecialToken as { id: string; type_id: number };
        const ids = specials[s.id]?.ids;
        if (!ids) throw new Error(`${source}/tokenizer.json: post_processor names special token ${s.id} without ids.`);
        return { special: ids, typeId: s.type_id };
      }
      const s = item.Sequence as { id: "A" | "B"; type_id: number };
      return { sequence: s.id, typeId: s.type_id };
    });
  }
  if (pp.type === "BertProcessing" || pp.type === "RobertaProcessing") {
    const [cls, sep] = [tokenId(pp.cls), tokenId(pp.sep)];
    if (!Number.isInteger(cls) || !Number.isInteger(sep))
      throw new Error(`${source}/tokenizer.json: ${pp.type} without [token, id] pairs for cls / sep.`);
    if (pp.type === "BertProcessing")
      return [
        { special: [cls], typeId: 0 },
        { sequence: "A", typeId: 0 },
        { special: [sep], typeId: 0 },
        { sequence: "B", typeId: 1 },
        { special: [sep], typeId: 1 },
      ];
    return [
      { special: [cls], typeId: 0 },
      { sequence: "A", typeId: 0 },
      { special: [sep], typeId: 0 },
      { special: [sep], typeId: 1 },
      { sequence: "B", typeId: 1 },
      { special: [sep], typeId: 1 },
    ];
  }
  if (pp.type === "Sequence")
    for (const p of (pp.processors ?? []) as Json[]) {
      const slots = processorSlots(p, source);
      if (slots) return slots;
    }
  return undefined;
}

/** The pair template of a tokenizer (tokenizer.json's post_processor); throws, naming the file, when it has none. */
export function pairTemplate(tokenizer: Tokenizer, source = "tokenizer"): Slot[] {
  const pp = tokenizer.files.tokenizerJson.post_processor as Json | null | undefined;
  const slots = pp ? processorSlots(pp, source) : undefined;
  if (slots?.filter((s) => "sequence" in s).length !== 2)
    throw new Error(
      `${source}/tokenizer.json: its post_processor (${pp ? String(pp.type) : "none"}) has no pair template with sequences A and B; ` +
        "a cross-encoder needs one (TemplateProcessing, BertProcessing or RobertaProcessing), as BERT and RoBERTa tokenizers ship.",
    );
  return slots as Slot[];
}

/** Lengths the two contents keep under Rust tokenizers' LongestFirst with `room` tokens for both. */
export function longestFirst(nA: number, nB: number, room: number): [number, number] {
  if (nA + nB <= room) return [nA, nB];
  const swap = nA > nB;
  let n1 = swap ? nB : nA; // shorter
  let n2 = swap ? nA : nB; // longer
  n2 = n1 > room ? n1 : Math.max(n1, room - n1);
  if (n1 + n2 > room) {
    n1 = Math.floor(room / 2);
    n2 = n1 + (room % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

/** Encodes pairs with a model's tokenizer: template, LongestFirst truncation at maxLength, right padding. */
export class PairEncoder {
  readonly maxLength: number;
  private readonly template: Slot[];
  private readonly specials: number;

  /**
   * `typeIds: false` writes token type 0 everywhere (RoBERTa-style models, whose tokenizers return no
   * token_type_ids, so the model reads zeros).
   */
  constructor(
    readonly tokenizer: Tokenizer,
    maxLength: number,
    private readonly options: { typeIds: boolean; source?: string },
  ) {
    this.template = pairTemplate(tokenizer, options.source);
    this.specials = this.template.reduce((s, slot) => s + ("special" in slot ? slot.special.length : 0), 0);
    if (!Number.isInteger(maxLength) || maxLength <= this.specials)
      throw new RangeError(
        `${options.source ?? "cross-encoder"}: max_length ${maxLength} must be an integer above the ${this.specials} special tokens of a pair.`,
      );
    this.maxLength = maxLength;
  }

  encode(pair: TextPair): EncodedPair {
    const [a, b] = [this.tokenizer.encodeContent(pair[0]), this.tokenizer.encodeContent(pair[1])];
    const [keepA, keepB] = longestFirst(a.length, b.length, this.maxLength - this.specials);
    const ids: number[] = [];
    const typeIds: number[] = [];
    for (const slot of this.template) {
      const part = "special" in slot ? slot.special : slot.sequence === "A" ? a.slice(0, keepA) : b.slice(0, keepB);
      for (const id of part) {
        ids.push(id);
        typeIds.push(this.options.typeIds ? slot.typeId : 0);
      }
    }
    return { ids, typeIds, truncated: keepA < a.length || keepB < b.length };
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
