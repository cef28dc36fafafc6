/**
 * Exact maximum-inner-product search in plain TypeScript: the fallback used when faiss-node cannot
 * be loaded, and the reference the approximate (HNSW) index is measured against.
 *
 * score(q, d) = sum_i q_i * d_i, accumulated in float64 from float32 inputs. Four queries are
 * scored against each document row in one pass (each document value is read once for four dot
 * products), then ./topk selects the best k with the shared tie rule. Results equal IndexFlatIP's
 * up to float32 rounding of the scores (faiss accumulates in float32 through BLAS).
 */
import { topK } from "./topk";

export interface SearchResult {
  /** Row-major [nq, k]: positions of the hits in the indexed matrix, best first. */
  indices: Int32Array;
  /** Row-major [nq, k]: their inner products. */
  scores: Float32Array;
  k: number;
}

/**
 * Searches `docs` (n rows of `dim`) for each of `nq` query rows; k must be in 1..n (checked by
 * the caller, see VectorIndex).
 */
export function exactSearch(
  docs: Float32Array,
  n: number,
  dim: number,
  queries: Float32Array,
  nq: number,
  k: number,
): SearchResult {
  const indices = new Int32Array(nq * k);
  const scores = new Float32Array(nq * k);
  const s0 = new Float64Array(n);
  const s1 = new Float64Array(n);
  const s2 = new Float64Array(n);
  const s3 = new Float64Array(n);
  const rows = [s0, s1, s2, s3];
  for (let q0 = 0; q0 < nq; q0 += 4) {
    const m = Math.min(4, nq - q0);
    // Missing queries of the last block reuse the last real one; their scores are ignored.
    const o0 = q0 * dim;
    const o1 = (q0 + Math.min(1, m - 1)) * dim;
    const o2 = (q0 + Math.min(2, m - 1)) * dim;
    const o3 = (q0 + Math.min(3, m - 1)) * dim;
    for (let j = 0; j < n; j++) {
      const od = j * dim;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let t = 0; t < dim; t++) {
        const x = docs[od + t];
        a0 += queries[o0 + t] * x;
        a1 += queries[o1 + t] * x;
        a2 += queries[o2 + t] * x;
        a3 += queries[o3 + t] * x;
      }
      s0[j] = a0;
      s1[j] = a1;
      s2[j] = a2;
      s3[j] = a3;
    }
    for (let r = 0; r < m; r++) {
      const best = topK(rows[r], k, n);
      indices.set(best.indices, (q0 + r) * k);
      scores.set(best.scores, (q0 + r) * k);
    }
  }
  return { indices, scores, k };
}
