/**
 * Training examples for a cross-encoder from mineHardNegatives' rows (src/mining), in the two forms
 * sentence-transformers v4's reranker recipes use:
 *
 *   outputFormat "labeled-pair":  {anchor, positive, label}           -> (query, passage, label) for BinaryCrossEntropyLoss
 *   outputFormat "n-tuple" / "triplet": {anchor, positive, negative_1..n} -> (query, positive, [negatives]) for
 *                                 MultipleNegativesRankingLoss and ListNetLoss
 *
 * with `randomNegatives` passages drawn at random from the corpus mixed in per query (never one of its positives):
 * the blog "Training and Finetuning Reranker Models with Sentence Transformers v4" finds that hard negatives alone teach
 * a re-ranker to tell near-misses apart but not to push clearly unrelated passages down, which hurts when it
 * re-ranks a deep first-stage list.
 */
import { rngFor } from "../random";
import { DEFAULT_SEED } from "../defaults";
import type { RerankExample } from "./losses";

export interface RerankExamplesOptions {
  /** Passages to draw random negatives from (e.g. the training corpus). */
  corpus?: readonly string[];
  /** Random negatives added per query (default 0; needs `corpus`). */
  randomNegatives?: number;
  seed?: number;
}

type Row = Readonly<Record<string, string | number>>;

/** Negative columns of a mined row, in order: "negative" (triplet) or negative_1..n (n-tuple). */
function negativesOf(row: Row): string[] {
  if (typeof row.negative === "string") return [row.negative];
  const out: string[] = [];
  for (let i = 1; typeof row[`negative_${i}`] === "string"; i++) out.push(row[`negative_${i}`] as string);
  return out;
}

/** Cross-encoder examples from mined rows (labeled pairs, triplets or n-tuples), random negatives mixed in. */
export function rerankingExamples(rows: readonly Row[], options: RerankExamplesOptions = {}): RerankExample[] {
  const k = options.randomNegatives ?? 0;
  if (!Number.isInteger(k) || k < 0)
    throw new Error(`rerankingExamples: randomNegatives ${k} must be an integer >= 0.`);
  if (k > 0 && !(options.corpus && options.corpus.length > 0))
    throw new Error("rerankingExamples: randomNegatives needs a corpus to draw from (options.corpus).");
  const seed = options.seed ?? DEFAULT_SEED;
  rows.forEach((r, i) => {
    if (typeof r.anchor !== "string" || typeof r.positive !== "string")
      throw new Error(
        `rerankingExamples: row ${i} needs string fields "anchor" and "positive" (mineHardNegatives' rows).`,
      );
  });
  const labeled = rows.length > 0 && "label" in rows[0];
  const positives = new Map<string, Set<string>>();
  for (const r of rows)
    if (!labeled || Number(r.label) > 0) {
      const set = positives.get(r.anchor as string) ?? new Set<string>();
      set.add(r.positive as string);
      positives.set(r.anchor as string, set);
    }
  const draw = (query: string, n: number, avoid: ReadonlySet<string>): string[] => {
    const corpus = options.corpus ?? [];
    const rng = rngFor(seed, `random-negatives\u0000${query}`);
    const out: string[] = [];
    for (let tries = 0; out.length < n && tries < 20 * n; tries++) {
      const p = corpus[Math.floor(rng() * corpus.length)];
      if (!avoid.has(p) && !out.includes(p)) out.push(p);
    }
    return out;
  };
  if (labeled) {
    const out: RerankExample[] = rows.map((r, i) => {
      const label = Number(r.label);
      if (!(label >= 0 && label <= 1))
        throw new Error(`rerankingExamples: row ${i} has label ${r.label}; labels must be in [0, 1].`);
      return { kind: "labeled-pair", query: r.anchor as string, passage: r.positive as string, label };
    });
    if (k > 0) {
      // Every passage a query already has (its positives and its mined negatives) is avoided.
      const passagesOf = new Map<string, Set<string>>();
      for (const r of rows) {
        const set = passagesOf.get(r.anchor as string) ?? new Set<string>();
        set.add(r.positive as string);
        passagesOf.set(r.anchor as string, set);
      }
      for (const [q, avoid] of passagesOf)
        for (const p of draw(q, k, avoid)) out.push({ kind: "labeled-pair", query: q, passage: p, label: 0 });
    }
    return out;
  }
  return rows.map((r) => {
    const q = r.anchor as string;
    const negatives = negativesOf(r);
    const avoid = new Set([...(positives.get(q) ?? []), ...negatives]);
    return {
      kind: "n-tuple",
      query: q,
      positive: r.positive as string,
      negatives: [...negatives, ...draw(q, k, avoid)],
    };
  });
}
