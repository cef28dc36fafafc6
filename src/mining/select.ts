/**
 * Step 4 of mining: each query's negatives from its retrieved candidates, searchBatchSize queries at a time.
 *
 *   top searchDepth candidates ──candidateFate: positive? absoluteMargin? relativeMargin? maxScore? minScore?
 *     semiHardMargin? (first that applies)──▶ survivors, best first ──ranks [rangeMin, rangeMax)──▶ window
 *     ──sampleNegatives ("top": the first numNegatives; "random": seeded draw, sorted by score)──▶ negatives
 *
 * The filters, as in Python (p = the query's lowest positive score, "to be on the safe side"; s = the candidate's):
 *   absoluteMargin m   drop s + m > p          relativeMargin r   drop s > p (1 - r)
 *   maxScore / minScore  drop s > maxScore / s < minScore
 *   semiHardMargin d   drop s < p - d          (extension: FaceNet's semi-hard band)
 * Every retrieved candidate ends with one fate (CandidateFate); those within falseNegativeMargin of p are kept
 * as suspected false negatives with their texts.
 */
import type { Embeddings } from "../model/types";
import type { SearchResult } from "../retrieval/exact-search";
import type { VectorStore } from "../retrieval/vector-store";
import type { CheckedMiningOptions } from "./options";
import type { MiningCandidates } from "./candidates";
import {
  CANDIDATE_FATES,
  type CandidateFate,
  type FalseNegative,
  type MiningFilter,
  type ResolvedMiningOptions,
} from "./types";

/** What the search kept for every query, and what happened to every candidate. */
export interface SelectedNegatives {
  /** negativesOf[q]: corpus positions of query q's negatives, best first. */
  negativesOf: number[][];
  negativeScoresOf: number[][];
  /** Retrieved (query, candidate) pairs. */
  candidates: number;
  outcomes: Record<CandidateFate, number>;
  falseNegativeCount: number;
  falseNegatives: FalseNegative[];
  searchSeconds: number;
}

/** The filter that removes a candidate of score s (p: the query's lowest positive score), or undefined. */
export function candidateFate(
  s: number,
  isPositive: boolean,
  p: number,
  o: ResolvedMiningOptions,
): MiningFilter | undefined {
  if (isPositive) return "positive";
  if (o.absoluteMargin !== undefined && s + o.absoluteMargin > p) return "absoluteMargin";
  if (o.relativeMargin !== undefined && s > p * (1 - o.relativeMargin)) return "relativeMargin";
  if (o.maxScore !== undefined && s > o.maxScore) return "maxScore";
  if (o.minScore !== undefined && s < o.minScore) return "minScore";
  if (o.semiHardMargin !== undefined && s < p - o.semiHardMargin) return "semiHardMargin";
  return undefined;
}

/**
 * numNegatives of the window (survivors in rank order): "top" the first ones; "random" as Python's
 * random.sample(range(max(window, numNegatives)), numNegatives), positions past the window dropped, sorted by score.
 */
export function sampleNegatives(
  window: readonly number[],
  numNegatives: number,
  strategy: ResolvedMiningOptions["samplingStrategy"],
  rng: () => number,
): number[] {
  if (strategy === "top") return window.slice(0, numNegatives);
  const positions = Array.from({ length: Math.max(window.length, numNegatives) }, (_, i) => i);
  for (let i = 0; i < numNegatives; i++) {
    const k = i + Math.floor(rng() * (positions.length - i));
    [positions[i], positions[k]] = [positions[k], positions[i]];
  }
  return positions
    .slice(0, numNegatives)
    .filter((i) => i < window.length)
    .sort((a, b) => a - b)
    .map((i) => window[i]);
}

/** Hits over ids "0".."n-1" as a SearchResult of positions, padded with -1 where a query got fewer than k. */
function positionsOf(hits: readonly { id: string; score: number }[][], k: number): SearchResult {
  const indices = new Int32Array(hits.length * k).fill(-1);
  const scores = new Float32Array(hits.length * k);
  hits.forEach((row, q) =>
    row.forEach((h, j) => {
      indices[q * k + j] = Number(h.id);
      scores[q * k + j] = h.score;
    }),
  );
  return { indices, scores, k };
}

function rowsOf(e: Embeddings, start: number, end: number): Embeddings {
  return { count: end - start, dim: e.dim, data: e.data.subarray(start * e.dim, end * e.dim) };
}

/**
 * Searches the index for every query and selects its negatives. positiveScoresOf[q] aligns with
 * candidates.positivesOf[q]; `rng` draws the "random" samples in query order. The store's ids are the corpus
 * positions as strings ("0", "1", ...; embedAndIndex).
 */
export async function selectNegatives(
  index: VectorStore,
  queryEmbeddings: Embeddings,
  candidates: MiningCandidates,
  positiveScoresOf: readonly number[][],
  o: ResolvedMiningOptions & Pick<CheckedMiningOptions, "searchBatchSize" | "maxFalseNegatives">,
  rng: () => number,
): Promise<SelectedNegatives> {
  const { queries, corpus, positivesOf } = candidates;
  const { searchDepth, rangeMin, rangeMax } = o;
  const out: SelectedNegatives = {
    negativesOf: new Array(queries.length),
    negativeScoresOf: new Array(queries.length),
    candidates: 0,
    outcomes: Object.fromEntries(CANDIDATE_FATES.map((f) => [f, 0])) as Record<CandidateFate, number>,
    falseNegativeCount: 0,
    falseNegatives: [],
    searchSeconds: 0,
  };
  const fates: CandidateFate[] = new Array(searchDepth);
  for (let b0 = 0; b0 < queries.length; b0 += o.searchBatchSize) {
    const b1 = Math.min(queries.length, b0 + o.searchBatchSize);
    const tSearch = performance.now();
    const found = positionsOf(await index.search(rowsOf(queryEmbeddings, b0, b1), searchDepth), searchDepth);
    out.searchSeconds += (performance.now() - tSearch) / 1000;
    for (let q = b0; q < b1; q++) {
      const own = new Set(positivesOf[q]);
      const p = Math.min(...positiveScoresOf[q]);
      const base = (q - b0) * searchDepth;
      const live: number[] = []; // positions j in this query's hit list that passed every filter, best first
      for (let j = 0; j < searchDepth; j++) {
        const doc = found.indices[base + j];
        const fate = doc < 0 ? "notSampled" : candidateFate(found.scores[base + j], own.has(doc), p, o);
        if (fate) fates[j] = fate;
        else live.push(j);
      }
      const chosen = sampleNegatives(live.slice(rangeMin, rangeMax), o.numNegatives, o.samplingStrategy, rng);
      live.forEach((j, r) => (fates[j] = r < rangeMin ? "rangeMin" : "notSampled"));
      for (const j of chosen) fates[j] = "negative";
      out.negativesOf[q] = chosen.map((j) => found.indices[base + j]);
      out.negativeScoresOf[q] = chosen.map((j) => found.scores[base + j]);

      for (let j = 0; j < searchDepth; j++) {
        if (found.indices[base + j] < 0) continue;
        out.candidates++;
        out.outcomes[fates[j]]++;
        const s = found.scores[base + j];
        if (fates[j] === "positive" || s < p - o.falseNegativeMargin) continue;
        out.falseNegativeCount++;
        if (out.falseNegatives.length < o.maxFalseNegatives) {
          const hardest = positiveScoresOf[q].indexOf(p);
          out.falseNegatives.push({
            query: queries[q],
            positive: corpus[positivesOf[q][hardest]],
            positiveScore: p,
            candidate: corpus[found.indices[base + j]],
            candidateScore: s,
            rank: j + 1,
            outcome: fates[j],
          });
        }
      }
    }
  }
  return out;
}
