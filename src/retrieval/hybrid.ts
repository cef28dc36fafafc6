/**
 * Hybrid retrieval by reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009):
 *
 *   RRF(d) = sum over retrievers r of  w_r / (k_rrf + rank_r(d))
 *
 * rank_r(d) is 1-based within the top `depth` of retriever r (a document outside it contributes
 * nothing); k_rrf = 60 as in the paper; weights w_r default to 1. Only ranks are fused, so BM25
 * and cosine scores need no calibration. depth defaults to max(k, 100). Ties follow corpus order.
 */
import { checkK, type Retriever, type SearchHit } from "./types";

export interface HybridOptions {
  /** The rank constant (default 60). */
  rankConstant?: number;
  /** Candidates taken from each retriever (default max(k, 100), capped at the corpus size). */
  depth?: number;
  /** One weight per retriever (default all 1). */
  weights?: number[];
  name?: string;
}

export class HybridRetriever implements Retriever {
  readonly name: string;
  readonly scoreFunction = "rrf";
  readonly ids: readonly string[];
  readonly rankConstant: number;
  private readonly retrievers: Retriever[];
  private readonly weights: number[];
  private readonly depth: number | undefined;
  private readonly position = new Map<string, number>();

  constructor(retrievers: Retriever[], options: HybridOptions = {}) {
    if (retrievers.length < 1) throw new Error("HybridRetriever: give at least one retriever.");
    this.retrievers = retrievers;
    this.ids = retrievers[0].ids;
    this.ids.forEach((id, i) => this.position.set(id, i));
    for (const r of retrievers.slice(1)) {
      if (r.ids.length !== this.ids.length || r.ids.some((id, i) => id !== this.ids[i]))
        throw new Error(
          `HybridRetriever: "${r.name}" indexes a different corpus (or order) than "${retrievers[0].name}"; build both from the same documents.`,
        );
    }
    this.rankConstant = options.rankConstant ?? 60;
    if (!(this.rankConstant >= 0)) throw new Error(`HybridRetriever: rankConstant=${this.rankConstant} must be >= 0.`);
    this.weights = options.weights ?? retrievers.map(() => 1);
    if (this.weights.length !== retrievers.length)
      throw new Error(`HybridRetriever: ${this.weights.length} weights for ${retrievers.length} retrievers.`);
    this.depth = options.depth;
    this.name = options.name ?? `RRF(${retrievers.map((r) => r.name).join(" + ")})`;
  }

  async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
    checkK(`${this.name}: retrieve`, k, this.ids.length);
    const depth = Math.min(this.ids.length, Math.max(k, this.depth ?? 100));
    const lists = await Promise.all(this.retrievers.map((r) => r.retrieve(queries, depth)));
    return queries.map((_, q) => {
      const fused = new Map<string, number>();
      lists.forEach((perQuery, r) => {
        perQuery[q].forEach((hit, rank) => {
          fused.set(hit.id, (fused.get(hit.id) ?? 0) + this.weights[r] / (this.rankConstant + rank + 1));
        });
      });
      return [...fused]
        .sort((a, b) => b[1] - a[1] || this.position.get(a[0])! - this.position.get(b[0])!)
        .slice(0, k)
        .map(([id, score]) => ({ id, score }));
    });
  }
}
