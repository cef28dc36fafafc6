/**
 * npm run build-offline-model [-- --check] [-- --out <file>]
 *
 * Builds the embedded offline model ("offline") from its recipe (src/offline/pretrain.ts:
 * WordNet pairs, MNRL, interpolation with the lexical start) and writes assets/offline-model/model.safetensors
 * (fp16, the recipe and the table's SHA-256 in its header). Deterministic: the same recipe gives the same bytes.
 * --check builds without writing and exits 1 when the table differs from the committed file's checksum (CI).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../src/files";
import { buildOfflinePretrained, offlineModelBytes, OFFLINE_PRETRAIN_RECIPE } from "../src/offline/pretrain";
import { OFFLINE_MODEL_FILE, readOfflineModelFile, repositoryRoot, tableChecksum } from "../src/model/offline-file";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const check = argv.includes("--check");
  const outIndex = argv.indexOf("--out");
  const out = outIndex >= 0 ? argv[outIndex + 1] : join(repositoryRoot(), OFFLINE_MODEL_FILE);
  if (outIndex >= 0 && !out) throw new Error("--out expects a file path");
  const log = (line: string) => console.log(`[build-offline-model] ${line}`);
  log(`recipe ${JSON.stringify(OFFLINE_PRETRAIN_RECIPE)}`);
  const result = await buildOfflinePretrained({ ...OFFLINE_PRETRAIN_RECIPE }, log);
  const bytes = offlineModelBytes(result);
  const sha = tableChecksum(bytes);
  log(
    `built in ${result.seconds.toFixed(1)} s (training ${result.trainSeconds.toFixed(1)} s, backend ${result.backend}); table sha256 ${sha}`,
  );
  if (check) {
    const committed = join(repositoryRoot(), OFFLINE_MODEL_FILE);
    const expected = existsSync(committed) ? readOfflineModelFile(committed).metadata.table_sha256 : undefined;
    if (expected !== sha) {
      console.error(
        `[build-offline-model] CHECK FAILED: the rebuilt table (sha256 ${sha}) differs from ${committed} (${expected ?? "missing"}).`,
      );
      process.exit(1);
    }
    log(`check passed: the recipe reproduces ${OFFLINE_MODEL_FILE}`);
    return;
  }
  writeFileAtomic(out, bytes);
  log(`wrote ${out} (${(bytes.byteLength / 1e6).toFixed(1)} MB)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
