// The app's explorer with `--store lancedb:<uri>`: a table per (dataset, model); the same hits as the default
// in-memory explorer, and a restart reopens the table instead of embedding the corpus again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findModels, resolveAppDataset } from "../src/app/catalog";
import { Explorer } from "../src/app/explorer";
import { getConfig } from "../src/env";

test("explorer over LanceDB: the in-memory explorer's hits; a restart keeps the table", async () => {
  const root = mkdtempSync(join(tmpdir(), "explorer-store-"));
  try {
    const dataset = resolveAppDataset("policy-handbook", { runsDir: join(root, "runs"), dataDir: getConfig().dataDir });
    const models = findModels(dataset.runsDir, "offline");
    const store = `lancedb:${join(root, "lancedb")}`;
    const lines: string[] = [];
    const memory = await Explorer.open(dataset, models);
    const lance = await Explorer.open(dataset, models, (l) => lines.push(l), { store });
    assert.match(
      lines.join("\n"),
      /LanceDB flat \(exact, index from 20000 rows\), \d+ x \d+, .*policy-handbook-base-offline\.lance/,
    );
    for (const q of ["parental leave", "how do I claim expenses"]) {
      const a = await memory.search(q, 5);
      const b = await lance.search(q, 5);
      assert.deepEqual(
        b.systems.map((s) => s.hits.map((h) => h.id)),
        a.systems.map((s) => s.hits.map((h) => h.id)),
      );
    }
    const again = await Explorer.open(dataset, models, () => {}, { store });
    assert.deepEqual(
      (await again.search("parental leave", 5)).systems.map((s) => s.hits.map((h) => h.id)),
      (await memory.search("parental leave", 5)).systems.map((s) => s.hits.map((h) => h.id)),
    );
    await assert.rejects(
      Explorer.open(dataset, models, () => {}, { store: "faiss:x" }),
      /app --store: "faiss:x" is not a store/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
