/**
 * Choosing a store is one option: `--store memory|lancedb[:uri]` on the command line, `store` in
 * course.config.json (COURSE_STORE), `store` for the app and the server. The implementations are listed here:
 *
 *   "memory"          a new in-memory VectorIndex (faiss flat, or TypeScript), the default
 *   "lancedb"         a LanceDB table under runs/lancedb
 *   "lancedb:<uri>"   a LanceDB table under <uri>: a folder, or s3://bucket/path, gs://..., az://...
 *
 * The LanceDB module is loaded only when a LanceDB store is opened (require below), so importing src/retrieval
 * costs nothing more for the notebooks.
 */
import { VectorIndex, type VectorIndexOptions } from "./vector-index";
import type { LanceDBStoreOptions, VectorStore } from "./vector-store";

export type StoreSpec = { kind: "memory" } | { kind: "lancedb"; uri: string };

/** Where "lancedb" without a URI puts its tables. */
export const DEFAULT_LANCEDB_URI = "runs/lancedb";

/** A table name for (dataset, model): lower case, [a-z0-9_-] only, e.g. "policy-handbook-offline". */
export function storeTableName(dataset: string, model: string): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "");
  return `${clean(dataset)}-${clean(model)}`.slice(0, 120);
}

/** "memory", "lancedb" or "lancedb:<uri>" as a StoreSpec; anything else is an error naming the forms. */
export function parseStoreSpec(text: string, where = "store"): StoreSpec {
  const t = text.trim();
  if (t === "" || t === "memory") return { kind: "memory" };
  if (t === "lancedb") return { kind: "lancedb", uri: DEFAULT_LANCEDB_URI };
  if (t.startsWith("lancedb:") && t.length > "lancedb:".length) return { kind: "lancedb", uri: t.slice(8) };
  throw new Error(
    `${where}: "${text}" is not a store; use "memory" (default), "lancedb" (under ${DEFAULT_LANCEDB_URI}) or "lancedb:<uri>" (a folder or s3://, gs://, az://).`,
  );
}

export interface OpenStoreOptions extends Omit<LanceDBStoreOptions, "uri"> {
  /** For "memory": the index's kind and implementation. */
  memory?: VectorIndexOptions;
}

/** An empty in-memory index, or the LanceDB table for (table, model) — made when missing, refused if of another model. */
export async function openStore(spec: StoreSpec | string, options: OpenStoreOptions): Promise<VectorStore> {
  const s = typeof spec === "string" ? parseStoreSpec(spec) : spec;
  if (s.kind === "memory") return VectorIndex.create(options.dim, options.memory);
  // Loaded here, not imported: a static import would load LanceDB (and make tslab type-check it) everywhere.
  const { LanceDBStore } = require("./lancedb-store") as {
    LanceDBStore: { open(o: LanceDBStoreOptions): Promise<VectorStore> };
  };
  return LanceDBStore.open({ ...options, uri: s.uri });
}
