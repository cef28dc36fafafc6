import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// A child process in which require("faiss-node") fails, as on a machine where it is not installed.
test("without faiss-node the index falls back to TypeScript, says why, and still searches", () => {
  const dir = mkdtempSync(join(tmpdir(), "no-faiss-"));
  const blocker = join(dir, "block-faiss.cjs");
  writeFileSync(
    blocker,
    `const Module = require("module");
     const resolveFilename = Module._resolveFilename;
     Module._resolveFilename = function (request, ...rest) {
       if (request === "faiss-node") { const e = new Error("Cannot find module 'faiss-node'"); e.code = "MODULE_NOT_FOUND"; throw e; }
       return resolveFilename.call(this, request, ...rest);
     };`,
  );
  const script = join(dir, "run.ts");
  const src = resolve(__dirname, "../src/retrieval");
  writeFileSync(
    script,
    `import { VectorIndex } from ${JSON.stringify(join(src, "vector-index"))};
     const index = VectorIndex.create(2, { kind: "hnsw" });
     index.add(["a", "b", "c"], [[1, 0], [0, 1], [0.6, 0.8]]);
     const hits = index.search([[0, 1]], 2)[0].map((h) => h.id);
     let forced = "";
     try { VectorIndex.create(2, { implementation: "faiss" }); } catch (e) { forced = (e as Error).message; }
     console.log(JSON.stringify({ implementation: index.implementation, notes: index.notes, hits, forced }));`,
  );
  const run = spawnSync(process.execPath, ["--require", blocker, "--import", "tsx", script], {
    encoding: "utf8",
    cwd: resolve(__dirname, ".."),
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split("\n").pop()!);
  assert.equal(out.implementation, "typescript");
  assert.match(
    out.notes[0],
    /faiss-node not usable \(Cannot find module 'faiss-node'\); using the TypeScript exact search/,
  );
  assert.match(out.notes[1], /HNSW needs faiss-node: this index searches exactly instead/);
  assert.deepEqual(out.hits, ["b", "c"]); // scores 1 and 0.8
  assert.match(out.forced, /implementation "faiss" requested but faiss-node not usable/);
});
