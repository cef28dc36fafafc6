/**
 * Padding a corpus with distractor documents, to test robustness at scale (as the job-search
 * tutorial pads its corpus to 10,000+ postings): a model that finds the right passage among 60
 * policy passages may not find it among 10,000 unrelated ones.
 *
 * n documents are drawn without replacement from another corpus by a seeded shuffle
 * (src/random: rngFor(seed, "distractors")), so the same seed always adds the same documents.
 * Their ids get a prefix (default "distractor:") so they cannot collide with the corpus's ids, and
 * a source document whose text equals a corpus document's text is skipped (it would be an
 * unlabelled relevant document, counted as a miss when retrieved). The originals come first, in
 * their order; distractors are never relevant (no qrels name them).
 */
import { rngFor, shuffled } from "../random";
import { toCorpusEntries, type CorpusEntry, type CorpusInput } from "../retrieval/types";
import { DEFAULT_SEED } from "../defaults";

export interface DistractorOptions {
  /** Seed of the draw (default DEFAULT_SEED = 42). */
  seed?: number;
  /** Prefix of distractor ids (default "distractor:"). */
  idPrefix?: string;
}

/** The corpus followed by `n` distractors drawn from `source`. */
export function addDistractors(
  corpus: CorpusInput,
  source: CorpusInput,
  n: number,
  options: DistractorOptions = {},
): CorpusEntry[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`addDistractors: n=${n} must be a non-negative integer.`);
  const base = toCorpusEntries(corpus, "addDistractors (corpus)");
  const pool = toCorpusEntries(source, "addDistractors (source)");
  const prefix = options.idPrefix ?? "distractor:";
  const texts = new Set(base.map((d) => d.text.trim()));
  const ids = new Set(base.map((d) => d._id));
  const candidates = pool.filter((d) => !texts.has(d.text.trim()));
  if (n > candidates.length)
    throw new Error(
      `addDistractors: asked for ${n} distractors but the source has ${candidates.length} usable documents ` +
        `(${pool.length - candidates.length} of ${pool.length} repeat a corpus text); lower n or use a larger source.`,
    );
  const drawn = shuffled(candidates, rngFor(options.seed ?? DEFAULT_SEED, "distractors")).slice(0, n);
  const extra = drawn.map((d) => {
    const id = `${prefix}${d._id}`;
    if (ids.has(id))
      throw new Error(`addDistractors: distractor id "${id}" already exists in the corpus; choose another idPrefix.`);
    ids.add(id);
    return { _id: id, title: d.title, text: d.text };
  });
  return [...base, ...extra];
}
