/**
 * Unsupervised domain-adaptation pairs from a corpus alone (no queries, no labels), for the step the first
 * tutorial lists before supervised fine-tuning ("continue pre-training on the domain corpus"):
 *
 *   title-passage   the section heading -> the passage text (the heading says what the passage is about);
 *   ict             Inverse Cloze Task (Lee, Chang & Toutanova, ACL 2019): one sentence of a passage -> the
 *                   passage without that sentence, so that a short text must find its context, as a query must
 *                   find its answer. The sentence is chosen with a seeded generator.
 *
 * Train on them with MultipleNegativesRankingLoss like any (anchor, positive) rows. They teach the model the
 * corpus's vocabulary and which words occur together; they never look at queries, so they may be built from the
 * whole corpus, test passages included, without leaking the evaluation's queries or judgements.
 */
import { rngFor } from "../random";
import type { CorpusRow, PairRow } from "./types";
import { DEFAULT_SEED } from "../defaults";

export interface DomainPairOptions {
  seed?: number;
  /** Include heading -> passage pairs (default true). */
  titles?: boolean;
  /** Inverse-cloze pairs per passage (default 1; 0 for none). */
  clozePerPassage?: number;
}

/** Sentences of a passage: split after . ! ? followed by a space and a capital letter or digit. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The heading of a title "Document — Section" (the part after the last " — "), else the whole title. */
export function sectionHeading(title: string): string {
  const parts = title.split(" — ");
  return parts[parts.length - 1].trim();
}

/** Domain-adaptation rows from a corpus (id -> passage), in corpus order; see the module header. */
export function domainAdaptationPairs(
  corpus: ReadonlyMap<string, CorpusRow>,
  options: DomainPairOptions = {},
): PairRow[] {
  const seed = options.seed ?? DEFAULT_SEED;
  const perPassage = options.clozePerPassage ?? 1;
  if (!Number.isInteger(perPassage) || perPassage < 0)
    throw new RangeError(`domainAdaptationPairs: clozePerPassage ${perPassage} must be a non-negative integer`);
  const rows: PairRow[] = [];
  for (const [id, doc] of corpus) {
    const heading = sectionHeading(doc.title ?? "");
    if ((options.titles ?? true) && heading !== "")
      rows.push({
        anchor: heading,
        positive: doc.text,
        positive_id: id,
        doc_id: doc.doc_id,
        generator: "unsupervised:title-passage",
      });
    const sentences = splitSentences(doc.text);
    if (sentences.length < 2) continue;
    const rng = rngFor(seed, `ict:${id}`);
    const order = sentences.map((_, i) => i);
    for (let k = 0; k < Math.min(perPassage, sentences.length); k++) {
      const j = k + Math.floor(rng() * (order.length - k));
      [order[k], order[j]] = [order[j], order[k]];
      const pick = order[k];
      rows.push({
        anchor: sentences[pick],
        positive: sentences.filter((_, i) => i !== pick).join(" "),
        positive_id: id,
        doc_id: doc.doc_id,
        generator: "unsupervised:ict",
      });
    }
  }
  return rows;
}
