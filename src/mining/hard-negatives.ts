/**
 * Hard-negative mining: sentence-transformers' util.mine_hard_negatives (v5) with its options, their meaning and
 * its defaults, under camelCase names, searching through the project's VectorIndex (faiss IndexFlatIP, or the
 * TypeScript fallback with the same ranking).
 *
 * mineHardNegatives runs five steps, each in its own place:
 *   1 options.ts     checkMiningOptions, then resolveMiningOptions (the rank range, once the corpus is known)
 *   2 candidates.ts  collectCandidates: unique queries, the deduplicated corpus, each query's positives
 *   3 here           embedAndIndex: normalised embeddings, positive scores, the corpus in a VectorIndex
 *   4 select.ts      selectNegatives: search, filters (candidateFate), sampling (sampleNegatives), false negatives
 *   5 rows.ts        formatRows in the output format, shortfallWarning; then the report (types.ts MiningReport)
 *
 *   (anchor, positive) pairs ──dedupe queries, collect every positive of a repeated query──▶ unique queries
 *   corpus (default: the positives) + positives ──dedupe texts──▶ candidates
 *   encode both (normalised: inner product = cosine) ──VectorIndex, searchBatchSize queries at a time──▶
 *   top (rangeMax + max positives per query) candidates per query
 *     ──drop the query's positives──▶ ──absoluteMargin──▶ ──relativeMargin──▶ ──maxScore──▶ ──minScore──▶
 *     ──ranks [rangeMin, rangeMax) of what is left──▶ numNegatives by samplingStrategy ──▶ rows
 *
 * The filters, as in Python (p = the query's positive score; with several positives the lowest, "to be on the
 * safe side"; s = a candidate's cosine score):
 *   absoluteMargin m   drop s + m > p          m = 0: a negative never scores above the positive
 *   relativeMargin r   drop s > p (1 - r)      r = 0.05: at most 95% as similar as the positive (NV-Retriever's
 *                                              TopK-PercPos, its best setting: relativeMargin 0.05, "top")
 *   maxScore / minScore  drop s > maxScore / s < minScore
 *   rangeMin / rangeMax  ranks counted among the candidates that passed the filters (0-based, rangeMax excluded):
 *                        rangeMin = 10 skips the 10 most similar survivors, where unlabelled positives hide
 * Default rangeMax (Python's): rangeMin + numNegatives + max positives per query, or rangeMin + 10 numNegatives +
 * max positives when a margin or maxScore is set (some candidates will be dropped). We clamp it to the corpus size
 * (Python's torch.topk would fail there) and search min(corpus, rangeMax + max positives) deep.
 * samplingStrategy "top" takes the first numNegatives of the range; "random" draws them uniformly (seeded) from
 * the range's survivors and sorts them by score, as Python does.
 *
 * Output formats (Python's): "triplet" one row (anchor, positive, negative) per negative found; "n-tuple" one row
 * (anchor, positive, negative_1..negative_n) per pair, only for pairs that got all n; "labeled-pair" rows (anchor,
 * positive, label): each positive with label 1, then each negative of that query with label 0 (the passage sits
 * in the "positive" column, as in Python). Rows are grouped by query in order of first appearance.
 * A query that appears several times has all its positives removed from its candidates; positives are compared
 * as texts after deduplication, so a passage stored twice is excluded twice. Pairs that get fewer negatives than
 * asked are counted in a warning that names the options to loosen, as Python prints.
 *
 * Extensions (not in sentence-transformers): semiHardMargin (FaceNet's semi-hard band: also drop s < p - margin;
 * with absoluteMargin 0 a negative then lies in [p - margin, p]); named presets; a report (./report) with
 * the removed counts per filter, score statistics and the suspected false negatives with their texts. Python's
 * n-tuple-scores and labeled-list formats, prompts, the cross-encoder rescoring and include_positives are not here.
 * Two deliberate differences from Python 5.x, where its code does not do what its comments say: with several
 * positives per query the margin uses each query's own lowest positive score (Python's loop advances its offset
 * by the previous query's count), and "labeled-pair" takes each query's own negatives once (Python indexes the
 * per-positive-repeated matrix by query). Python's min_score count also counts candidates removed earlier; ours
 * counts each candidate under the first filter that removed it.
 */
import type { Embedder, Embeddings } from "../model/types";
import { dot } from "../math";
import { rngFor } from "../random";
import { type Implementation, VectorIndex } from "../retrieval/vector-index";
import type { VectorStore } from "../retrieval/vector-store";
import { prepareTrainingData } from "../train/training-data";
import { candidateCounts, collectCandidates, type MiningCandidates } from "./candidates";
import { checkMiningOptions, OWNER, resolveMiningOptions } from "./options";
import { removedCounts } from "./report";
import { formatRows, shortfallWarning } from "./rows";
import { selectNegatives } from "./select";
import {
  MINING_FILTERS,
  type MineHardNegativesOptions,
  type MiningFilter,
  type MiningReport,
  type MiningResult,
} from "./types";

/**
 * Adds mined negatives to (anchor, positive) pairs. `pairs`: rows {anchor, positive, ...} or a nodejs-polars
 * DataFrame (other columns are ignored). See the module header for the semantics.
 */
export async function mineHardNegatives(
  pairs: unknown,
  model: Embedder,
  options: MineHardNegativesOptions = {},
): Promise<MiningResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const data = prepareTrainingData(pairs, `${OWNER} pairs`);
  const anchors = data.rows.map((r) => r[0]);
  const positives = data.rows.map((r) => r[1]);

  const checked = checkMiningOptions(options);
  const candidates = collectCandidates(anchors, positives, options.corpus, warn);
  const counts = candidateCounts(candidates);
  const resolved = resolveMiningOptions(checked, options.rangeMax, counts);

  const embedded = await embedAndIndex(model, candidates, checked.batchSize, options.implementation ?? "auto");
  const { index, positiveScoresOf } = embedded;

  const selected = await selectNegatives(
    index,
    embedded.queries,
    candidates,
    positiveScoresOf,
    { ...resolved, searchBatchSize: checked.searchBatchSize, maxFalseNegatives: checked.maxFalseNegatives },
    rngFor(resolved.seed, "mine-hard-negatives"),
  );
  const formatted = formatRows(candidates, positiveScoresOf, selected, resolved.numNegatives, resolved.outputFormat);
  const { rows, columns, maximumPossible, pairsWithFewer } = formatted;
  const missing = maximumPossible - rows.length;
  if (missing > 0) warn(shortfallWarning(OWNER, formatted, positives.length, resolved));
  const { outcomes } = selected;
  const removed = Object.fromEntries(MINING_FILTERS.map((f) => [f, outcomes[f]])) as Record<MiningFilter, number>;
  const report: MiningReport = {
    model: model.name,
    index: index.describe(),
    options: resolved,
    pairs: positives.length,
    uniqueQueries: candidates.queries.length,
    maxPositivesPerQuery: counts.maxPositives,
    meanPositivesPerQuery: positives.length / candidates.queries.length,
    corpusSize: candidates.corpus.length,
    corpusDuplicatesRemoved: candidates.duplicatesRemoved,
    positivesAddedToCorpus: candidates.positivesAdded,
    candidates: selected.candidates,
    removed,
    skippedByRangeMin: outcomes.rangeMin,
    outcomes,
    rows: rows.length,
    maximumPossibleRows: maximumPossible,
    missingRows: missing,
    pairsWithFewerNegatives: pairsWithFewer,
    positiveScores: formatted.positiveScores,
    negativeScores: formatted.negativeScores,
    differenceScores: formatted.differenceScores,
    falseNegativeMargin: resolved.falseNegativeMargin,
    falseNegativeCount: selected.falseNegativeCount,
    falseNegatives: selected.falseNegatives,
    seconds: {
      encode: embedded.encodeSeconds,
      search: embedded.indexSeconds + selected.searchSeconds,
      total: (performance.now() - t0) / 1000,
    },
    warnings,
  };
  if (rows.length === 0) {
    throw new NoMinedRowsError(
      `${OWNER}: no rows could be generated with these settings: every candidate was removed (${removedCounts(removed) || "none were found"}). ` +
        `When most are removed by the margins, the model scores every passage close to the positive (an untrained or random model does): ` +
        `loosen absoluteMargin / relativeMargin / falseNegativeMargin, or mine with a better model.`,
      { rows, columns, report },
    );
  }
  return { rows, columns, report };
}

/**
 * Step 3: queries and corpus encoded normalised (so the inner product is the cosine), each (query, positive) pair's
 * score grouped by query, and the corpus in a VectorIndex (which keeps its own copy of the vectors).
 */
async function embedAndIndex(
  model: Embedder,
  c: MiningCandidates,
  batchSize: number,
  implementation: "auto" | Implementation,
): Promise<{
  index: VectorStore;
  queries: Embeddings;
  positiveScoresOf: number[][];
  encodeSeconds: number;
  indexSeconds: number;
}> {
  const tEncode = performance.now();
  const corpus = await model.encode(c.corpus, { batchSize, normalize: true });
  const queries = await model.encode(c.queries, { batchSize, normalize: true });
  const encodeSeconds = (performance.now() - tEncode) / 1000;
  const dim = queries.dim;
  if (corpus.count !== c.corpus.length || queries.count !== c.queries.length || corpus.dim !== dim)
    throw new Error(
      `${OWNER}: the model returned ${corpus.count} x ${corpus.dim} corpus and ${queries.count} x ${dim} query embeddings for ${c.corpus.length} passages and ${c.queries.length} queries.`,
    );
  // The margins use each query's lowest positive score (select.ts).
  const positiveScoresOf = c.positivesOf.map((ps, q) =>
    ps.map((p) => dot(queries.data, corpus.data, dim, q * dim, p * dim)),
  );
  const tIndex = performance.now();
  const ids = c.corpus.map((_, i) => String(i));
  const index = VectorIndex.fromVectors(ids, corpus, { implementation });
  return { index, queries, positiveScoresOf, encodeSeconds, indexSeconds: (performance.now() - tIndex) / 1000 };
}

/**
 * mineHardNegatives left no row: every candidate was removed by the filters. `result` is the empty result with its
 * full report (what each filter removed, the positives' scores, the suspected false negatives), for callers that
 * show what happened instead of stopping.
 */
export class NoMinedRowsError extends Error {
  override name = "NoMinedRowsError";
  constructor(
    message: string,
    readonly result: MiningResult,
  ) {
    super(message);
  }
}
