// The datasets in data/: each BEIR dataset has >= 300 passages and >= 900 queries, its splits share
// no source document (doc_id) and no query, and every qrels id resolves (the loader fails otherwise).
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentsOf } from "../src/data/split";
import { loadShippedDataset, loadTutorialTriplets, shippedDatasets } from "../src/data/shipped";
import { toIRSplit } from "../src/data/beir";

const names = shippedDatasets();

test("the course ships at least two BEIR datasets", () => {
  assert.ok(names.includes("policy-handbook"), names.join(", "));
  assert.ok(names.length >= 2, names.join(", "));
});

for (const name of names) {
  test(`${name}: size, splits by document, qrels resolve`, () => {
    const ds = loadShippedDataset(name);
    assert.ok(ds.corpus.size >= 300, `${name}: ${ds.corpus.size} passages, want >= 300`);
    assert.ok(ds.queries.size >= 900, `${name}: ${ds.queries.size} queries, want >= 900`);
    assert.deepEqual([...ds.qrels.keys()].sort(), ["dev", "test", "train"]);
    assert.deepEqual(ds.skipped, [], "no skipped rows in shipped data");
    const splits = ["train", "dev", "test"].map((s) => toIRSplit(ds, s));
    const docs = splits.map(documentsOf);
    for (let a = 0; a < 3; a++) {
      assert.ok(splits[a].relevant.size > 0, `${name}/${splits[a].split} has queries`);
      for (let b = a + 1; b < 3; b++)
        assert.deepEqual(
          [...docs[a]].filter((d) => docs[b].has(d)),
          [],
          `${splits[a].split}/${splits[b].split} share documents`,
        );
    }
    for (const s of splits)
      for (const [q, ids] of s.relevant) for (const id of ids) assert.ok(ds.corpus.has(id) && ds.queries.has(q));
    // Every query is used by some split.
    const used = new Set(splits.flatMap((s) => [...s.relevant.keys()]));
    assert.equal(used.size, ds.queries.size, `${name}: queries without qrels`);
  });
}

test("tutorial triplets: anchor, positive, negative", () => {
  const { rows, negatives } = loadTutorialTriplets();
  assert.ok(rows.length >= 5, `${rows.length} triplets`);
  assert.deepEqual(negatives, ["negative"]);
});
