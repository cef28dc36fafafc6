/**
 * BM25 (Okapi BM25, Robertson & Zaragoza 2009), the lexical baseline a fine-tuned model must beat.
 *
 *   score(q, d) = sum over query tokens t of  idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
 *   idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
 *
 * with Lucene's / Elasticsearch's idf and defaults k1 = 1.2, b = 0.75. N = documents, df(t) =
 * documents containing t, |d| = tokens in d, avgdl = mean |d|. A token repeated in the query counts
 * each time (as Lucene sums its clauses). Tokens: NFKC, lower case, runs of letters/digits
 * (Unicode), minus the 33 English stop words of Lucene's StopAnalyzer; no stemming.
 * Scored through an inverted index: only documents sharing a token with the query are touched;
 * ties (including all-zero scores) follow corpus order (see ./types).
 */
import { topK } from "./topk";
import { checkK, documentText, toCorpusEntries, type CorpusInput, type Retriever, type SearchHit } from "./types";

/** Lucene's ENGLISH_STOP_WORDS_SET. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(
    " ",
  ),
);

export interface BM25Options {
  k1?: number;
  b?: number;
  /** Words dropped from documents and queries (default ENGLISH_STOP_WORDS; pass an empty set to keep all). */
  stopWords?: ReadonlySet<string>;
  name?: string;
}

/** Splits text into lower-case letter/digit runs without stop words. */
export function tokenize(text: string, stopWords: ReadonlySet<string> = ENGLISH_STOP_WORDS): string[] {
  const tokens =
    text
      .normalize("NFKC")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return tokens.filter((t) => !stopWords.has(t));
}

interface Posting {
  docs: number[];
  tfs: number[];
}

export class BM25Retriever implements Retriever {
  readonly name: string;
  readonly scoreFunction = "bm25";
  readonly ids: readonly string[];
  readonly k1: number;
  readonly b: number;
  readonly avgdl: number;
  private readonly stopWords: ReadonlySet<string>;
  private readonly postings = new Map<string, Posting>();
  private readonly docLength: Float64Array;

  constructor(corpusInput: CorpusInput, options: BM25Options = {}) {
    const corpus = toCorpusEntries(corpusInput, "BM25Retriever (corpus)");
    if (corpus.length === 0) throw new Error("BM25Retriever: the corpus is empty.");
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    if (!(this.k1 >= 0)) throw new Error(`BM25Retriever: k1=${this.k1} must be >= 0.`);
    if (!(this.b >= 0 && this.b <= 1)) throw new Error(`BM25Retriever: b=${this.b} must be in [0, 1].`);
    this.stopWords = options.stopWords ?? ENGLISH_STOP_WORDS;
    this.name = options.name ?? "BM25";
    this.ids = corpus.map((d) => d._id);
    this.docLength = new Float64Array(corpus.length);
    let total = 0;
    corpus.forEach((doc, i) => {
      const tokens = tokenize(documentText(doc), this.stopWords);
      this.docLength[i] = tokens.length;
      total += tokens.length;
      const counts = new Map<string, number>();
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const [t, tf] of counts) {
        let p = this.postings.get(t);
        if (!p) this.postings.set(t, (p = { docs: [], tfs: [] }));
        p.docs.push(i);
        p.tfs.push(tf);
      }
    });
    this.avgdl = total / corpus.length;
  }

  /** Number of documents containing `token` (already tokenized). */
  documentFrequency(token: string): number {
    return this.postings.get(token)?.docs.length ?? 0;
  }

  idf(token: string): number {
    const n = this.ids.length;
    const df = this.documentFrequency(token);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** BM25 scores of one query against every document, in corpus order. */
  scores(query: string): Float64Array {
    const out = new Float64Array(this.ids.length);
    // avgdl is 0 only when every document is empty; then no token matches anyway.
    const avgdl = this.avgdl > 0 ? this.avgdl : 1;
    for (const t of tokenize(query, this.stopWords)) {
      const p = this.postings.get(t);
      if (!p) continue;
      const idf = this.idf(t);
      for (let j = 0; j < p.docs.length; j++) {
        const d = p.docs[j];
        const tf = p.tfs[j];
        out[d] += (idf * tf * (this.k1 + 1)) / (tf + this.k1 * (1 - this.b + (this.b * this.docLength[d]) / avgdl));
      }
    }
    return out;
  }

  async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
    checkK(`${this.name}: retrieve`, k, this.ids.length);
    return queries.map((q) => {
      const best = topK(this.scores(q), k);
      return Array.from(best.indices, (p, r) => ({ id: this.ids[p], score: best.scores[r] }));
    });
  }
}
