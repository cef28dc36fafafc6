/**
 * Loads faiss-node lazily, once, inside try/catch: the library works without it (the plain
 * TypeScript exact search in ./exact-search takes over) and says which implementation it uses.
 * faiss-node's prebuilt binary comes from GitHub; where that is unreachable it must be built
 * against a system faiss (see environment.md). The search with the project's tie rule, shared by the flat and
 * the HNSW index (./faiss-flat-index, ./faiss-hnsw-index), is here too.
 */
import type * as FaissNode from "faiss-node";
import type { SearchResult } from "./exact-search";

export type FaissModule = typeof FaissNode;

export interface FaissStatus {
  module: FaissModule | undefined;
  /** "faiss-node loaded" or why it could not be loaded. */
  reason: string;
}

let cached: FaissStatus | undefined;

/** faiss-node, or undefined with the reason; the result is cached for the process. */
export function loadFaiss(): FaissStatus {
  if (cached) return cached;
  try {
    const module = require("faiss-node") as FaissModule;
    const probe = new module.IndexFlatIP(2);
    probe.add([1, 0]);
    if (probe.search([1, 0], 1).labels[0] !== 0) throw new Error("self-test search returned a wrong label");
    cached = { module, reason: "faiss-node loaded" };
  } catch (err) {
    cached = {
      module: undefined,
      reason: `faiss-node not usable (${(err as Error).message.split("\n")[0]}); using the TypeScript exact search`,
    };
  }
  return cached;
}

export type FaissIndex = InstanceType<FaissModule["Index"]>;

/**
 * faiss-node takes vectors only as number[]; a preallocated array filled in a loop is several
 * times faster to build than Array.from(Float32Array).
 */
export function toNumberArray(data: Float32Array): number[] {
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}

/**
 * Top-k of each query row from a faiss index of `count` rows, with ./types' tie rule. faiss orders equal scores
 * arbitrarily and, at the cut-off, may keep any of a tied group. So we ask for k+1 and, for a query whose
 * (k+1)-th score still equals its k-th, search again with twice the depth until the tied group ends inside the
 * result; then the rule is applied.
 */
export function faissSearch(
  native: FaissIndex,
  count: number,
  dim: number,
  data: Float32Array,
  nq: number,
  k: number,
): SearchResult {
  const depth = Math.min(count, k + 1);
  const raw = native.search(toNumberArray(data), depth);
  const rows: { labels: number[]; distances: number[] }[] = [];
  for (let q = 0; q < nq; q++) {
    let labels = raw.labels.slice(q * depth, (q + 1) * depth);
    let distances = raw.distances.slice(q * depth, (q + 1) * depth);
    let d = depth;
    while (d < count && d > k && labels[k - 1] >= 0 && distances[d - 1] === distances[k - 1]) {
      d = Math.min(count, 2 * d);
      const again = native.search(toNumberArray(data.subarray(q * dim, (q + 1) * dim)), d);
      labels = again.labels;
      distances = again.distances;
    }
    rows.push({ labels, distances });
  }
  return reorder(rows, k);
}

/** Applies the tie rule (./types) to faiss's rows and keeps the first k of each. */
function reorder(rows: { labels: number[]; distances: number[] }[], k: number): SearchResult {
  const indices = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k);
  rows.forEach(({ labels, distances }, q) => {
    const order = labels.map((_, j) => j).filter((j) => labels[j] >= 0);
    order.sort((a, b) => distances[b] - distances[a] || labels[a] - labels[b]);
    order.slice(0, k).forEach((j, r) => {
      indices[q * k + r] = labels[j];
      scores[q * k + r] = distances[j];
    });
  });
  return { indices, scores, k };
}
