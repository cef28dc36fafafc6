/**
 * A VectorStore in a LanceDB table (@lancedb/lancedb 0.31: embedded, no server): a folder on local disk or a
 * table on object storage (s3://, gs://, az:// URIs go to lancedb.connect as they are), one table per
 * (dataset, model), shared by processes, surviving restarts.
 *
 * Columns: id, doc_id, title, text, hash (the passage's content hash, ./sync), vector (FixedSizeList<Float32>[dim]),
 * then the metadata fields declared when the table was made (`metadataFields`). The schema's metadata records the
 * model (`ts_embedding_finetune.model_key`, `.model`): a table made with another model or dimension is refused,
 * both named.
 *
 * Search: inner product (LanceDB's "dot" distance is 1 - q·d, so score = 1 - _distance). Below `indexThreshold`
 * rows the table is scanned exactly; persist() builds an IVF-PQ index once the table has that many (numPartitions
 * = rows / 4096, numSubVectors = dim / 8 (8 values per sub-vector, what LanceDB's SIMD kernels want), dot metric,
 * k-means on 64 samples per partition for at most 20 iterations, so that 10^6 rows index in minutes on 2 cores), and searches then probe `nprobes` partitions and re-rank
 * `refineFactor` x k candidates on the stored vectors (defaults 20 and 60: PQ with 8 values per byte ranks
 * coarsely, and the exact re-ranking of 600 candidates is what brings recall@10 to 0.95 at 10^6 rows; there
 * probing 40 partitions instead of 20 changed nothing, re-ranking 300 gave 0.77: bench/vector-store.ts's sweep). Rows added after the index are searched
 * exactly until the next persist() (LanceDB's optimize) indexes them.
 *
 * Consistency: every read checks for commits by other processes (readConsistencyInterval 0). Each add / delete is
 * one LanceDB commit (a new table version written atomically): a writer killed part-way leaves the last committed
 * version whole. `ids` is this handle's view (read at open, kept up to date by its own writes; refresh() re-reads).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type * as Arrow from "apache-arrow";
import type * as LanceDB from "@lancedb/lancedb";
import { checkedRows, toMatrix } from "./memory-index";
import type { SearchHit } from "./types";
import {
  checkFilter,
  type LanceDBStoreOptions,
  type MetadataFilter,
  type MetadataValue,
  type StoreMetadata,
  type StoreSearchOptions,
  type VectorStore,
  type VectorsInput,
} from "./vector-store";

export type { LanceDBStoreOptions } from "./vector-store";

const KEY = "ts_embedding_finetune.model_key";
const MODEL = "ts_embedding_finetune.model";
const FORMAT = "ts_embedding_finetune.store";
const FIXED = ["id", "doc_id", "title", "text", "hash", "vector"] as const;
const TEXT_COLUMNS = ["doc_id", "title", "text", "hash"] as const;
/**
 * IVF partition size: numPartitions = rows / 4096 (244 at 10^6). sqrt(rows) (1,000 at 10^6) trains k-means on
 * 256 samples per partition, 256,000 x 384 against 1,000 centroids: too slow for a 2-core machine.
 */
const ROWS_PER_PARTITION = 4096;
/** Ids per `id IN (...)` predicate of a delete. */
const DELETE_CHUNK = 1000;

/** An SQL literal for LanceDB's `where` (DataFusion): strings quoted with '' doubled. */
function sqlLiteral(v: MetadataValue): string {
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  return String(v);
}

/** A filter as an SQL `where` over the table's columns; unknown fields are an error naming the columns. */
export function filterToWhere(filter: MetadataFilter, columns: readonly string[]): string {
  checkFilter("LanceDBStore.search", filter);
  return Object.entries(filter)
    .map(([field, value]) => {
      if (!columns.includes(field) || field === "vector")
        throw new Error(
          `LanceDBStore.search: filter field "${field}" is not a column of the table (columns: ${columns.filter((c) => c !== "vector").join(", ")}); ` +
            "declare it in metadataFields when the table is made.",
        );
      const values = Array.isArray(value) ? value : [value];
      return values.length === 1
        ? `\`${field}\` = ${sqlLiteral(values[0])}`
        : `\`${field}\` IN (${values.map(sqlLiteral).join(", ")})`;
    })
    .join(" AND ");
}

function lancedbModule(): typeof LanceDB {
  return require("@lancedb/lancedb") as typeof LanceDB;
}

function arrowModule(): typeof Arrow {
  return require("apache-arrow") as typeof Arrow;
}

export class LanceDBStore implements VectorStore {
  readonly implementation = "lancedb" as const;
  readonly dim: number;
  readonly modelKey: string;
  readonly model: string;
  /** Where the table lives: <uri>/<table>.lance. */
  readonly path: string;
  readonly indexThreshold: number;
  nprobes: number;
  refineFactor: number;
  private readonly table: LanceDB.Table;
  private readonly schema: Arrow.Schema;
  private readonly columns: string[];
  private idList: string[] = [];
  private positions = new Map<string, number>();
  private indexed = false;

  private constructor(table: LanceDB.Table, schema: Arrow.Schema, path: string, options: LanceDBStoreOptions) {
    this.table = table;
    this.schema = schema;
    this.columns = schema.fields.map((f) => f.name);
    this.path = path;
    this.dim = options.dim;
    this.modelKey = options.modelKey;
    this.model = options.model ?? options.modelKey;
    this.indexThreshold = options.indexThreshold ?? 20_000;
    this.nprobes = options.nprobes ?? 20;
    this.refineFactor = options.refineFactor ?? 60;
    for (const [name, v] of [
      ["indexThreshold", this.indexThreshold],
      ["nprobes", this.nprobes],
      ["refineFactor", this.refineFactor],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`LanceDBStore: ${name}=${v} must be a positive integer.`);
  }

  /** Opens the table (or makes it, mode "create"), checking it was made with this model and dimension. */
  static async open(options: LanceDBStoreOptions): Promise<LanceDBStore> {
    if (!Number.isInteger(options.dim) || options.dim < 1)
      throw new Error(`LanceDBStore: dimension ${options.dim} must be a positive integer.`);
    if (!options.modelKey) throw new Error("LanceDBStore: modelKey is empty; give the key of the model's weights.");
    if (!/^[A-Za-z0-9_-]+$/.test(options.table))
      throw new Error(
        `LanceDBStore: table name "${options.table}" may hold only letters, digits, _ and - (see storeTableName).`,
      );
    const lancedb = lancedbModule();
    const path = `${options.uri.replace(/\/+$/, "")}/${options.table}.lance`;
    const db = await lancedb.connect(options.uri, {
      readConsistencyInterval: 0,
      storageOptions: options.storageOptions,
    });
    const names = await db.tableNames();
    let table: LanceDB.Table;
    if (names.includes(options.table)) {
      try {
        table = await db.openTable(options.table);
      } catch (err) {
        throw corrupt(path, err);
      }
    } else if (!isRemote(options.uri) && existsSync(join(options.uri, `${options.table}.lance`))) {
      throw corrupt(path, new Error("the folder exists but LanceDB does not list it as a table"));
    } else if ((options.mode ?? "create") === "open") {
      throw new Error(
        `${path}: no such LanceDB table. Build it first (DenseRetriever.build with this store, or \`serve --store lancedb:${options.uri}\` after embedding), or check the URI and table name.`,
      );
    } else {
      table = await db.createEmptyTable(options.table, newSchema(options), { mode: "create" });
    }
    let schema: Arrow.Schema;
    try {
      schema = await table.schema();
    } catch (err) {
      throw corrupt(path, err);
    }
    checkSchema(path, schema, options);
    const store = new LanceDBStore(table, schema, path, options);
    await store.refresh();
    return store;
  }

  /** Re-reads ids and whether the table has its ANN index (other processes may have written). */
  async refresh(): Promise<void> {
    const rows = await this.table.query().select(["id"]).toArray();
    this.idList = rows.map((r) => String((r as { id: string }).id));
    this.positions = new Map(this.idList.map((id, i) => [id, i]));
    this.indexed = (await this.table.listIndices()).some((i) => i.columns.includes("vector"));
  }

  get ids(): readonly string[] {
    return this.idList;
  }

  get size(): number {
    return this.idList.length;
  }

  /** "ivf-pq" once the ANN index exists, else "flat" (exact scan). */
  get kind(): string {
    return this.indexed ? "ivf-pq" : "flat";
  }

  describe(): string {
    const search = this.indexed
      ? `IVF-PQ (nprobes ${this.nprobes}, refine x${this.refineFactor})`
      : `flat (exact, index from ${this.indexThreshold} rows)`;
    return `LanceDB ${search}, ${this.size} x ${this.dim}, ${this.path}`;
  }

  async count(): Promise<number> {
    return this.table.countRows();
  }

  async contentHashes(): Promise<Map<string, string>> {
    const rows = await this.table.query().select(["id", "hash"]).toArray();
    const out = new Map<string, string>();
    for (const r of rows as { id: string; hash: string | null }[]) if (r.hash) out.set(String(r.id), String(r.hash));
    return out;
  }

  /** Adds new ids (one LanceDB commit); metadata keys must be columns (title, text, hash, doc_id or declared). */
  async add(ids: string[], vectors: VectorsInput, metadata?: readonly (StoreMetadata | undefined)[]): Promise<void> {
    const { data, count } = checkedRows("LanceDBStore.add", ids, vectors, this.dim, metadata, this.positions);
    if (count === 0) return;
    for (const row of metadata ?? [])
      for (const key of Object.keys(row ?? {}))
        if (!this.columns.includes(key) || key === "id" || key === "vector")
          throw new Error(
            `LanceDBStore.add: metadata field "${key}" is not a column of ${this.path} (columns: ${this.columns.join(", ")}); declare it in metadataFields when the table is made.`,
          );
    await this.table.add(this.batch(ids, data, metadata));
    for (const id of ids) {
      this.positions.set(id, this.idList.length);
      this.idList.push(id);
    }
  }

  /** One Arrow table of `ids` rows in the table's schema (vectors copied once into the FixedSizeList child). */
  private batch(ids: string[], data: Float32Array, metadata?: readonly (StoreMetadata | undefined)[]): Arrow.Table {
    const arrow = arrowModule();
    const columns: Record<string, Arrow.Vector> = {};
    for (const field of this.schema.fields) {
      if (field.name === "id") columns.id = arrow.vectorFromArray(ids, new arrow.Utf8());
      else if (field.name === "vector") {
        const child = arrow.makeData({ type: new arrow.Float32(), length: data.length, data });
        const list = arrow.makeData({ type: field.type, length: ids.length, nullCount: 0, child });
        columns.vector = arrow.makeVector(list);
      } else {
        const values = ids.map((_, i) => metadata?.[i]?.[field.name] ?? null);
        columns[field.name] = arrow.vectorFromArray(values, field.type);
      }
    }
    return new arrow.Table(columns).select(this.columns);
  }

  async delete(ids: readonly string[]): Promise<number> {
    const gone = [...new Set(ids)].filter((id) => this.positions.has(id));
    for (let i = 0; i < gone.length; i += DELETE_CHUNK) {
      const list = gone
        .slice(i, i + DELETE_CHUNK)
        .map(sqlLiteral)
        .join(", ");
      await this.table.delete(`id IN (${list})`);
    }
    if (gone.length > 0) {
      const set = new Set(gone);
      this.idList = this.idList.filter((id) => !set.has(id));
      this.positions = new Map(this.idList.map((id, i) => [id, i]));
    }
    return gone.length;
  }

  /** Top-k of each query row (queries run concurrently); hits carry no text, see searchWithText. */
  async search(queries: VectorsInput, k: number, options: StoreSearchOptions = {}): Promise<SearchHit[][]> {
    const rows = await this.searchRows(queries, k, options, ["id"]);
    return rows.map((hits) => hits.map((h) => ({ id: String(h.id), score: 1 - Number(h._distance) })));
  }

  /** As search, with each hit's title and text (what /v1/search answers). */
  async searchWithText(
    queries: VectorsInput,
    k: number,
    options: StoreSearchOptions = {},
  ): Promise<(SearchHit & { title: string; text: string })[][]> {
    const rows = await this.searchRows(queries, k, options, ["id", "title", "text"]);
    return rows.map((hits) =>
      hits.map((h) => ({
        id: String(h.id),
        score: 1 - Number(h._distance),
        title: String(h.title ?? ""),
        text: String(h.text ?? ""),
      })),
    );
  }

  private async searchRows(
    queries: VectorsInput,
    k: number,
    options: StoreSearchOptions,
    select: string[],
  ): Promise<Record<string, unknown>[][]> {
    if (!Number.isInteger(k) || k < 1) throw new Error(`LanceDBStore.search: k=${k} must be a positive integer.`);
    const { data, count } = toMatrix("LanceDBStore.search (queries)", queries, this.dim);
    const where = options.filter ? filterToWhere(options.filter, this.columns) : undefined;
    const one = async (q: number): Promise<Record<string, unknown>[]> => {
      let query = this.table
        .query()
        .nearestTo(data.subarray(q * this.dim, (q + 1) * this.dim))
        .distanceType("dot")
        .select([...select, "_distance"])
        .limit(k);
      if (this.indexed) query = query.nprobes(this.nprobes).refineFactor(this.refineFactor);
      if (where) query = query.where(where);
      return (await query.toArray()) as Record<string, unknown>[];
    };
    return Promise.all(Array.from({ length: count }, (_, q) => one(q)));
  }

  /**
   * Compacts the table (LanceDB optimize: small appends merged, new rows added to the index) and builds the
   * IVF-PQ index once the table has indexThreshold rows. `path` is not used: the table is its own place.
   */
  async persist(): Promise<void> {
    await this.table.optimize();
    const rows = await this.table.countRows();
    if (!this.indexed && rows >= this.indexThreshold) {
      const lancedb = lancedbModule();
      await this.table.createIndex("vector", {
        config: lancedb.Index.ivfPq({
          numPartitions: Math.max(1, Math.round(rows / ROWS_PER_PARTITION)),
          numSubVectors: this.dim % 8 === 0 ? this.dim / 8 : 1,
          distanceType: "dot",
          maxIterations: 20,
          sampleRate: 64,
        }),
      });
    }
    await this.refresh();
  }

  /** The underlying LanceDB table (for LangChain's LanceDB vector store, src/rag). */
  get lanceTable(): LanceDB.Table {
    return this.table;
  }
}

function isRemote(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

function corrupt(path: string, err: unknown): Error {
  const why = ((err as Error).message ?? String(err)).split("\n")[0];
  return new Error(
    `${path}: not a readable LanceDB table (${why}). Restore it from a backup, or move the folder aside and ` +
      "build the store again (the corpus is re-embedded).",
  );
}

function newSchema(options: LanceDBStoreOptions): Arrow.Schema {
  const arrow = arrowModule();
  const fields: Arrow.Field[] = [
    new arrow.Field("id", new arrow.Utf8(), false),
    ...TEXT_COLUMNS.map((name) => new arrow.Field(name, new arrow.Utf8(), true)),
    new arrow.Field(
      "vector",
      new arrow.FixedSizeList(options.dim, new arrow.Field("item", new arrow.Float32(), true)),
      false,
    ),
  ];
  for (const [name, type] of Object.entries(options.metadataFields ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || (FIXED as readonly string[]).includes(name))
      throw new Error(
        `LanceDBStore: metadata field "${name}" must be a plain name and not one of ${FIXED.join(", ")}.`,
      );
    const t =
      type === "number"
        ? new arrow.Float64()
        : type === "boolean"
          ? new arrow.Bool()
          : type === "string"
            ? new arrow.Utf8()
            : undefined;
    if (!t)
      throw new Error(`LanceDBStore: metadata field "${name}" has type "${type}"; use string, number or boolean.`);
    fields.push(new arrow.Field(name, t, true));
  }
  const meta = new Map([
    [FORMAT, "1"],
    [KEY, options.modelKey],
    [MODEL, options.model ?? options.modelKey],
  ]);
  return new arrow.Schema(fields, meta);
}

/** Refuses a table of another model or dimension, or one this library did not make. */
function checkSchema(path: string, schema: Arrow.Schema, options: LanceDBStoreOptions): void {
  const vector = schema.fields.find((f) => f.name === "vector");
  const dim = (vector?.type as { listSize?: number } | undefined)?.listSize;
  const key = schema.metadata.get(KEY);
  const model = schema.metadata.get(MODEL) ?? key;
  const missing = FIXED.filter((c) => !schema.fields.some((f) => f.name === c));
  if (!key || missing.length > 0 || dim === undefined)
    throw new Error(
      `${path}: this LanceDB table was not made by this library (${missing.length > 0 ? `no column ${missing.join(", ")}` : "no model key in its schema"}); use another table name or URI.`,
    );
  if (key !== options.modelKey || dim !== options.dim)
    throw new Error(
      `${path} was made with model "${model}" (key ${key}, ${dim}-d vectors); this run's model is "${options.model ?? options.modelKey}" ` +
        `(key ${options.modelKey}, ${options.dim}-d). Use a table for this model (another table name or URI), or move ${path} aside to rebuild it.`,
    );
}
