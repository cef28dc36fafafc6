// The pretrained embedded offline model: the shipped file loads as loadModel("offline"), a missing or corrupt
// file says how to rebuild it, fp16 conversion and the file format, and the WordNet reader / pairs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { float32ToFloat16, serializeOfflineModel } from "../src/offline/pretrain";
import { OFFLINE_MODEL_FILE, readOfflineModelFile, repositoryRoot, tableChecksum } from "../src/model/offline-file";
import { float16ToFloat32, parseSafetensors } from "../src/model/safetensors";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import { parseDataLine, splitGloss, wordnetPairs, type WordNetSynset } from "../src/offline/wordnet";

const shipped = join(repositoryRoot(), OFFLINE_MODEL_FILE);

test('loadModel("offline") is the pretrained model read from the shipped file; "offline-random" is the random one', async () => {
  const m = await loadModel("offline");
  const r = await loadModel("offline-random");
  assert.match(m.name, /pretrained on WordNet, not a Hub model/);
  assert.match(r.name, /not pretrained/);
  const file = readOfflineModelFile(shipped);
  const table = m.staticEmbedding!.toWeightMap().get("embedding.weight")!;
  assert.deepEqual(table.shape, file.table.shape);
  assert.ok(Buffer.from(table.data.buffer).equals(Buffer.from(file.table.data.buffer)));
  assert.match(file.metadata.recipe, /"learningRate"/);
  // Pretraining taught it relatedness that random vectors lack: synonyms score above unrelated pairs on average.
  const related = [
    ["physician", "doctor"],
    ["car", "automobile"],
    ["sick", "ill"],
    ["begin", "start"],
    ["purchase", "buy"],
  ];
  const unrelated = [
    ["physician", "bicycle"],
    ["car", "pepper"],
    ["sick", "library"],
    ["begin", "ocean"],
    ["purchase", "tooth"],
  ];
  const meanCos = async (model: typeof m, pairs: string[][]) => {
    const e = await model.encode(pairs.flat());
    let s = 0;
    for (let p = 0; p < pairs.length; p++)
      for (let k = 0; k < e.dim; k++) s += e.data[2 * p * e.dim + k] * e.data[(2 * p + 1) * e.dim + k];
    return s / pairs.length;
  };
  const gapPretrained = (await meanCos(m, related)) - (await meanCos(m, unrelated));
  const gapRandom = (await meanCos(r, related)) - (await meanCos(r, unrelated));
  assert.ok(gapPretrained > 0.2, `pretrained: synonyms minus unrelated mean cosine ${gapPretrained}`);
  assert.ok(Math.abs(gapRandom) < 0.15, `random: synonyms minus unrelated mean cosine ${gapRandom}`);
  m.dispose();
  r.dispose();
});

test("a missing or corrupt offline model file is an error that says how to rebuild it", () => {
  const dir = mkdtempSync(join(tmpdir(), "offline-model-"));
  assert.throws(
    () => readOfflineModelFile(join(dir, "none.safetensors")),
    /is missing; rebuild it with `npm run build-offline-model`/,
  );
  const truncated = join(dir, "truncated.safetensors");
  writeFileSync(truncated, readFileSync(shipped).subarray(0, 5000));
  assert.throws(() => readOfflineModelFile(truncated), /is corrupt .*npm run build-offline-model/);
  const flipped = join(dir, "flipped.safetensors");
  copyFileSync(shipped, flipped);
  const bytes = readFileSync(flipped);
  bytes[bytes.length - 3] ^= 0x01;
  writeFileSync(flipped, bytes);
  assert.throws(() => readOfflineModelFile(flipped), /is corrupt \(its table's SHA-256 .*npm run build-offline-model/);
  assert.throws(
    () => offlineModel("offline-typo" as "offline"),
    /unknown embedded model; choose one of offline, offline-random, offline-bert/,
  );
});

test("float32ToFloat16 rounds to nearest even and round-trips through the reader's float16ToFloat32", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [70000, 0x7c00],
    [0.1, 0x2e66],
    [2 ** -24, 0x0001],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [2 ** -25, 0x0000],
    [6.097555160522461e-5, 0x03ff],
  ];
  for (const [x, bits] of cases) assert.equal(float32ToFloat16(x), bits, `float32ToFloat16(${x})`);
  for (let bits = 0; bits < 0x7c00; bits += 97) assert.equal(float32ToFloat16(float16ToFloat32(bits)), bits);
});

test("serializeOfflineModel writes an F16 safetensors file that the project's reader parses, with the table checksum", () => {
  const table = Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 8);
  const bytes = serializeOfflineModel(table, 4, { b: "2", a: "1" });
  const parsed = parseSafetensors(bytes);
  assert.deepEqual(parsed.metadata, { a: "1", b: "2" });
  assert.equal(parsed.dtypes.get("embedding.weight"), "F16");
  assert.deepEqual(parsed.tensors.get("embedding.weight")!.shape, [3, 4]);
  assert.deepEqual([...parsed.tensors.get("embedding.weight")!.data], [...table]);
  assert.equal(tableChecksum(bytes), tableChecksum(serializeOfflineModel(table, 4, { other: "metadata" })));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0);
});

test("WordNet data lines: lemmas, definition, examples and hypernym pointers", () => {
  const line =
    "02086723 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 003 @ 02085998 n 0000 @ 01320032 n 0000 #m 02086515 n 0000 | " +
    'a member of the genus Canis; occurs in many breeds; "the dog barked all night"  ';
  const s = parseDataLine(line) as WordNetSynset;
  assert.deepEqual(s.lemmas, ["dog", "domestic dog", "Canis familiaris"]);
  assert.equal(s.definition, "a member of the genus Canis; occurs in many breeds");
  assert.deepEqual(s.examples, ["the dog barked all night"]);
  assert.deepEqual(s.hypernyms, ["n02085998", "n01320032"]);
  assert.equal(parseDataLine("  1 This software and database is being provided"), null);
  const adj = parseDataLine(
    '00001740 00 a 01 able(a) 0 000 | having the necessary means; "able to swim"',
  ) as WordNetSynset;
  assert.deepEqual(adj.lemmas, ["able"]);
  assert.deepEqual(splitGloss('to rest; "take a break"; "a nap"'), {
    definition: "to rest",
    examples: ["take a break", "a nap"],
  });
  const pairs = wordnetPairs([s, { ...s, id: "n02085998", lemmas: ["canine", "canid"], examples: [], hypernyms: [] }], {
    seed: 1,
  });
  const kinds = pairs.map((p) => `${p.kind}:${p.anchor}->${p.positive.slice(0, 12)}`).sort();
  assert.ok(kinds.includes("synonym:dog->domestic dog"));
  assert.ok(kinds.includes("lemma-hypernym:dog->canine: a me"));
  assert.ok(kinds.includes("example-definition:the dog barked all night->dog: a membe"));
  assert.deepEqual(wordnetPairs([s], { seed: 1 }), wordnetPairs([s], { seed: 1 }));
});
