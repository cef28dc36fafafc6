/**
 * Step 2 of mining: the queries and the candidate passages, as texts deduplicated the way sentence-transformers
 * does it.
 *
 *   (anchor, positive) pairs ──unique anchors in order of first appearance──▶ queries
 *   given corpus (default: none) + the pairs' positives ──dict.fromkeys (first occurrence kept)──▶ corpus
 *   each query ──▶ the corpus positions of all its positives (a repeated query collects every one)
 *
 * A positive missing from a given corpus is added to the candidates, as in Python, with a warning: usually the
 * two spell the passage differently (title + newline + text).
 */
import { documentText, toCorpusEntries, type CorpusEntry, type CorpusInput } from "../retrieval/types";
import { OWNER, type CandidateCounts } from "./options";
import type { MineHardNegativesOptions } from "./types";

export interface MiningCandidates {
  /** Unique anchors, in order of first appearance. */
  queries: string[];
  /** Distinct candidate passages: the given corpus, then the positives it lacks. */
  corpus: string[];
  /** positivesOf[q]: corpus positions of query q's positives, one per (anchor, positive) pair. */
  positivesOf: number[][];
  /** Repeated texts removed from the given corpus. */
  duplicatesRemoved: number;
  /** Distinct positive texts that the given corpus lacked (added). */
  positivesAdded: number;
}

function corpusTexts(corpus: MineHardNegativesOptions["corpus"]): string[] {
  if (corpus === undefined) return [];
  if (Array.isArray(corpus) && corpus.every((x) => typeof x === "string")) return corpus.slice() as string[];
  return toCorpusEntries(corpus as CorpusInput, `${OWNER} corpus`).map((d: CorpusEntry) => documentText(d));
}

/** Queries, corpus and each query's positives from the pairs' columns and the `corpus` option. */
export function collectCandidates(
  anchors: readonly string[],
  positives: readonly string[],
  corpusOption: MineHardNegativesOptions["corpus"],
  warn: (message: string) => void,
): MiningCandidates {
  const queryIndex = new Map<string, number>();
  const queries: string[] = [];
  for (const a of anchors) if (!queryIndex.has(a)) queryIndex.set(a, queries.push(a) - 1);

  const given = corpusTexts(corpusOption);
  const corpus: string[] = [];
  const corpusIndex = new Map<string, number>();
  for (const t of [...given, ...positives]) if (!corpusIndex.has(t)) corpusIndex.set(t, corpus.push(t) - 1);
  const givenSet = new Set(given);
  const positivesAdded = corpusOption === undefined ? 0 : new Set(positives.filter((p) => !givenSet.has(p))).size;
  if (positivesAdded > 0) {
    const pairsMissing = positives.filter((p) => !givenSet.has(p)).length;
    warn(
      `${OWNER}: ${pairsMissing} of ${positives.length} pairs have a positive that is not in the given corpus (${positivesAdded} distinct texts); ` +
        "they were added to the candidates, as sentence-transformers does. If the corpus should contain them, check that both use the same passage text (title + newline + text).",
    );
  }

  const positivesOf: number[][] = queries.map(() => []);
  anchors.forEach((a, i) => positivesOf[queryIndex.get(a) as number].push(corpusIndex.get(positives[i]) as number));
  return { queries, corpus, positivesOf, duplicatesRemoved: given.length - givenSet.size, positivesAdded };
}

/** The counts the rank range depends on. */
export function candidateCounts(c: MiningCandidates): CandidateCounts {
  return {
    corpusSize: c.corpus.length,
    maxPositives: Math.max(...c.positivesOf.map((p) => p.length)),
    largestPositiveSet: Math.max(...c.positivesOf.map((p) => new Set(p).size)),
  };
}
