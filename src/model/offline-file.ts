/**
 * Reading the shipped embedded offline model ("offline"): assets/offline-model/model.safetensors, an fp16
 * StaticEmbedding table over the bert-base-uncased vocabulary with its recipe and checksum in the header.
 * The file is built by src/offline/pretrain.ts (`npm run build-offline-model`); loading it needs no training code.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OFFLINE_VOCAB_SIZE } from "./embedded";
import { parseSafetensors, SafetensorsError } from "./safetensors";
import { STATIC_EMBEDDING_WEIGHT } from "./static-embedding";
import type { HostTensor } from "./types";

/** Where the shipped model file lives, relative to the repository root. */
export const OFFLINE_MODEL_FILE = join("assets", "offline-model", "model.safetensors");

export const OFFLINE_REBUILD_HINT =
  "rebuild it with `npm run build-offline-model` (deterministic, a few minutes on 2 cores), or restore it with `git checkout -- assets/offline-model`";

/** SHA-256 (hex) of the table's fp16 bytes: what the build and CI compare. */
export function tableChecksum(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  return createHash("sha256")
    .update(bytes.subarray(8 + headerLength))
    .digest("hex");
}

/** The repository root (the folder with package.json above src/model). */
export function repositoryRoot(): string {
  return join(__dirname, "..", "..");
}

/** Reads the shipped offline model file; a missing or corrupt file is an error that says how to rebuild it. */
export function readOfflineModelFile(path: string = join(repositoryRoot(), OFFLINE_MODEL_FILE)): {
  table: HostTensor;
  metadata: Record<string, string>;
} {
  if (!existsSync(path)) throw new Error(`offline model: ${path} is missing; ${OFFLINE_REBUILD_HINT}.`);
  let parsed: ReturnType<typeof parseSafetensors>;
  try {
    parsed = parseSafetensors(new Uint8Array(readFileSync(path)), path);
  } catch (err) {
    const why = err instanceof SafetensorsError || err instanceof Error ? err.message : String(err);
    throw new Error(`offline model: ${path} is corrupt (${why}); ${OFFLINE_REBUILD_HINT}.`, { cause: err });
  }
  const table = parsed.tensors.get(STATIC_EMBEDDING_WEIGHT);
  if (!table || table.shape.length !== 2 || table.shape[0] !== OFFLINE_VOCAB_SIZE)
    throw new Error(
      `offline model: ${path} has no "${STATIC_EMBEDDING_WEIGHT}" [${OFFLINE_VOCAB_SIZE}, dim] table; ${OFFLINE_REBUILD_HINT}.`,
    );
  const expected = parsed.metadata.table_sha256;
  if (expected) {
    const actual = tableChecksum(new Uint8Array(readFileSync(path)));
    if (actual !== expected)
      throw new Error(
        `offline model: ${path} is corrupt (its table's SHA-256 ${actual.slice(0, 12)}... differs from the ${expected.slice(0, 12)}... in its header); ${OFFLINE_REBUILD_HINT}.`,
      );
  }
  for (let i = 0; i < table.data.length; i++)
    if (!Number.isFinite(table.data[i]))
      throw new Error(`offline model: ${path} holds a non-finite weight at index ${i}; ${OFFLINE_REBUILD_HINT}.`);
  return { table, metadata: parsed.metadata };
}
