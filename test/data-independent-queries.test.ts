// The independent queries shipped with each dataset: they load, and each is judged against a test-split passage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadIndependentQueries, loadShippedSplit } from "../src/data/shipped";

for (const name of ["policy-handbook", "vet-clinic"]) {
  test(`${name}: independent queries load, are distinct from the shipped queries, and point at test-split passages`, () => {
    const ind = loadIndependentQueries(name);
    assert.equal(ind.queries.size, 85);
    const testSplit = loadShippedSplit(name, "test");
    const testDocs = new Set(
      [...testSplit.relevant.values()].flatMap((s) => [...s]).map((id) => testSplit.corpus.get(id)!.docId),
    );
    const shipped = new Set(
      ["train", "dev", "test"].flatMap((s) =>
        [...loadShippedSplit(name, s).queries.values()].map((q) => q.toLowerCase()),
      ),
    );
    // Written without reading the shipped queries, a few short common phrasings still coincide word for word
    // (policy-handbook 5, vet-clinic 2; listed in the dataset cards); more would mean they were not independent.
    const same = [...ind.queries].filter(([, text]) => shipped.has(text.toLowerCase())).map(([id]) => id);
    assert.deepEqual(
      same,
      name === "policy-handbook"
        ? ["ph-ind-032", "ph-ind-065", "ph-ind-073", "ph-ind-076", "ph-ind-077"]
        : ["vc-ind-065", "vc-ind-066"],
    );
    for (const [id] of ind.queries) {
      for (const doc of ind.relevant.get(id)!)
        assert.ok(testDocs.has(ind.corpus.get(doc)!.docId), `${id}: ${doc} is not a test-split passage`);
    }
  });
}
