/**
 * One interface for every place that holds document vectors: dense retrieval, hard-negative mining, the cost
 * measurements, the course's evaluation, the app's explorer and the server's /v1/search take a `VectorStore`.
 *
 *   in memory   ./vector-index: faiss IndexFlatIP (exact), faiss HNSW (approximate), or the TypeScript exact search
 *               when faiss-node does not load; one file with save()/load(). The default.
 *   on disk     ./lancedb-store: a LanceDB table (local folder or s3:// gs:// az://), persistent, shared by
 *               processes, re-embedding only passages whose text changed, IVF-PQ index past a size threshold.
 *
 * A memory index answers synchronously and a LanceDB table asynchronously, so each method returns
 * `T | Promise<T>`: code that takes the interface awaits it, code that holds a memory index keeps its plain calls.
 * Scores are inner products (cosine on the unit vectors DenseRetriever stores); hits come best first.
 *
 * Metadata: per row, a flat record of strings, numbers and booleans. Three keys have a meaning: `title` and
 * `text` (the passage, so a hit can be shown without the corpus) and `hash` (its content hash, ./sync).
 * A filter is `{field: value}` or `{field: [value, ...]}` (any of): every field must match. LanceDB turns it into
 * an SQL `where`; the memory index checks each row.
 */
import type { Embeddings } from "../model/types";
import type { SearchHit } from "./types";

/** Vectors as an Embeddings matrix or as rows of numbers. */
export type VectorsInput = Embeddings | ArrayLike<number>[];

export type Awaitable<T> = T | Promise<T>;
export type MetadataValue = string | number | boolean;
export type StoreMetadata = Readonly<Record<string, MetadataValue>>;
export type MetadataFilter = Readonly<Record<string, MetadataValue | readonly MetadataValue[]>>;

export interface StoreSearchOptions {
  /** Only rows whose metadata matches (every field equal, or in the list given). */
  filter?: MetadataFilter;
}

export interface VectorStore {
  readonly dim: number;
  /** "faiss", "typescript" or "lancedb". */
  readonly implementation: string;
  /** "flat" (exact), "hnsw", or the LanceDB index type ("flat" below its threshold, "ivf-pq" above). */
  readonly kind: string;
  /** Ids in this handle's order (the tie-break order); a LanceDB handle reads them at open and after its writes. */
  readonly ids: readonly string[];
  /** Rows, as `ids.length`. */
  readonly size: number;
  /** One line for display. */
  describe(): string;
  /** Adds new ids with their vectors and optional metadata rows. */
  add(ids: string[], vectors: VectorsInput, metadata?: readonly (StoreMetadata | undefined)[]): Awaitable<void>;
  /** Removes ids (unknown ones are ignored); returns how many were removed. */
  delete(ids: readonly string[]): Awaitable<number>;
  /** Top-k of each query row by inner product, best first. */
  search(queries: VectorsInput, k: number, options?: StoreSearchOptions): Awaitable<SearchHit[][]>;
  /** Rows in the store now (for LanceDB: as committed, including other processes' writes). */
  count(): Awaitable<number>;
  /** id -> content hash of every row stored with one. */
  contentHashes(): Awaitable<Map<string, string>>;
  /** Makes the store durable where it lives (memory: save to `path`; LanceDB: compact and index). */
  persist(path?: string): Awaitable<void>;
}

export type MetadataFieldType = "string" | "number" | "boolean";

/** Options of ./lancedb-store (declared here so that choosing a store, ./stores, loads no LanceDB types). */
export interface LanceDBStoreOptions {
  /** Database URI: a local folder (created when missing) or s3://, gs://, az://. */
  uri: string;
  /** Table name, one per (dataset, model): see storeTableName. */
  table: string;
  /** Vector dimension (the model's). */
  dim: number;
  /** Identifies the model's weights (e.g. the model spec or the fine-tuning artefact's key); stored in the schema. */
  modelKey: string;
  /** The model's name, for messages (default: modelKey). */
  model?: string;
  /** "create" (default): open the table, or make it when missing; "open": it must exist. */
  mode?: "create" | "open";
  /** Extra metadata columns, made with the table (title, text, hash and doc_id always exist). */
  metadataFields?: Readonly<Record<string, MetadataFieldType>>;
  /** Rows from which persist() builds the ANN index (default 20,000; exact search below). */
  indexThreshold?: number;
  /** IVF partitions probed per query (default 20). */
  nprobes?: number;
  /** Candidates re-ranked exactly per hit wanted (default 60). */
  refineFactor?: number;
  /** Passed to lancedb.connect for object storage (keys, region, endpoint). */
  storageOptions?: Record<string, string>;
}

/** Throws unless `filter` is a flat record of strings, finite numbers, booleans or non-empty lists of them. */
export function checkFilter(who: string, filter: MetadataFilter): void {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter))
    throw new Error(`${who}: filter must be an object {field: value}, got ${JSON.stringify(filter)}.`);
  for (const [field, value] of Object.entries(filter)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field))
      throw new Error(`${who}: filter field "${field}" must be a plain name (letters, digits, _).`);
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0)
      throw new Error(`${who}: filter field "${field}" has an empty list; give one value or more.`);
    for (const v of values)
      if (!(typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))))
        throw new Error(
          `${who}: filter field "${field}" has ${JSON.stringify(v)}; values are strings, finite numbers or booleans.`,
        );
  }
}

/** Whether a row's metadata matches every field of the filter. */
export function matchesFilter(metadata: StoreMetadata | undefined, filter: MetadataFilter): boolean {
  for (const [field, value] of Object.entries(filter)) {
    const have = metadata?.[field];
    if (have === undefined) return false;
    if (Array.isArray(value) ? !value.includes(have) : have !== value) return false;
  }
  return true;
}

/** id -> metadata.hash over parallel lists (rows without a string hash are left out). */
export function contentHashesOf(
  ids: readonly string[],
  metadata: readonly (StoreMetadata | undefined)[],
): Map<string, string> {
  const out = new Map<string, string>();
  ids.forEach((id, i) => {
    const h = metadata[i]?.hash;
    if (typeof h === "string") out.set(id, h);
  });
  return out;
}
