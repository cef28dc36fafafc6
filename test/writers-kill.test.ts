// Crash safety of every writer (issue 21 item 5), beyond training and model saves (train-resume,
// files-atomic): the review sheet (src/data/review.ts), reports/results.json (src/course/results.ts, with
// its lock) and run artefacts (src/artefacts.ts). A child writes in a loop and is killed with SIGKILL
// at a random moment, again and again; after each kill the file is the old or the new one, never a torn one,
// and the next run takes over (a dead writer's lock does not block it; an unfinished artefact is rebuilt).
// The LanceDB store (issue 31): a killed sync keeps every commit it made, and the next one embeds only the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importReview } from "../src/data/review";
import { readResults } from "../src/course/results";
import { MANIFEST, readManifest } from "../src/artefacts";
import { mulberry32 } from "../src/random";
import { artefactFile, openPassageStore, reviewRows, storePassages } from "./fixtures/writers/writer-child";
import { contentHash } from "../src/retrieval/sync";
import { l2Normalize } from "../src/retrieval/dense";
import { CountingEmbedder } from "./fixtures/vector-store/corpus";

const root = join(__dirname, "..");
const child = join(__dirname, "fixtures", "writers", "writer-child.ts");
const KILLS = 6;

/** Starts the writer, lets it write for a random 0-maxMs ms after its first write, and kills it with SIGKILL. */
async function killMidWrite(kind: string, dir: string, random: () => number, maxMs = 400): Promise<void> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, kind, dir], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((r) => proc.on("exit", (_c, signal) => r(signal)));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on("data", (d: Buffer) => d.toString().includes("writing") && resolve());
    proc.on("exit", () => reject(new Error(`the writer ended before writing: ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, Math.floor(random() * maxMs)));
  proc.kill("SIGKILL");
  const signal = await exited;
  // A writer that had finished (artefacts: all ten built) exits by itself; that is fine too.
  assert.ok(signal === "SIGKILL" || proc.exitCode === 0, stderr);
}

function finishRun(kind: string, dir: string): void {
  const r = spawnSync(process.execPath, ["--import", "tsx", child, kind, dir, "finish"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
}

test("review sheet: killed mid-export, it holds one whole version; the next export replaces it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kill-review-"));
  const random = mulberry32(21);
  try {
    for (let k = 0; k < KILLS; k++) {
      await killMidWrite("review", dir, random);
      const path = join(dir, "review.csv");
      if (!existsSync(path)) continue; // killed before the first rename
      const sheet = importReview(path);
      const v = Number(/of version (\d+)/.exec(sheet.pending[0].anchor)?.[1]);
      assert.deepEqual(
        sheet.pending.map((r) => r.anchor),
        reviewRows(v).map((r) => r.anchor),
        `kill ${k}: version ${v} whole`,
      );
    }
    finishRun("review", dir);
    assert.equal(importReview(join(dir, "review.csv")).pending.length, reviewRows(1).length);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith(".tmp")),
      [],
      "the killed writers' temporaries were removed by the next write",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("results.json: killed mid-update (even holding its lock), it parses; the next writer is not blocked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kill-results-"));
  const random = mulberry32(22);
  try {
    let before = 0;
    for (let k = 0; k < KILLS; k++) {
      await killMidWrite("results", dir, random);
      const path = join(dir, "results.json");
      const rounds = existsSync(path) ? readResults(path).timings : [];
      assert.ok(rounds.length >= before, `kill ${k}: no round lost`);
      assert.deepEqual(
        rounds.map((t) => t.notebook),
        rounds.map((_, i) => `round-${i}`),
        `kill ${k}: every round whole and in order`,
      );
      before = rounds.length;
      // The next run takes the lock at once, whether or not the killed writer held it.
      const t0 = Date.now();
      finishRun("results", dir);
      assert.ok(Date.now() - t0 < 20_000, "a dead writer's lock does not make the next one wait");
      assert.equal(readResults(path).timings.length, before + 1);
      before++;
    }
    assert.equal(existsSync(join(dir, ".results.json.lock")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run artefacts: killed mid-build, a folder with a manifest is complete; the next run rebuilds the rest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kill-artefacts-"));
  const random = mulberry32(23);
  const complete = () => {
    const done: number[] = [];
    for (const name of readdirSync(dir)) {
      const manifest = readManifest(join(dir, name));
      if (!manifest) continue; // interrupted: rebuilt by the next run
      const n = (manifest.inputs as { n: number }).n;
      for (let f = 0; f < 3; f++)
        assert.equal(readFileSync(join(dir, name, `file-${f}.txt`), "utf8"), artefactFile(n, f), `${name} file ${f}`);
      done.push(n);
    }
    return done.sort((a, b) => a - b);
  };
  try {
    for (let k = 0; k < KILLS; k++) {
      await killMidWrite("artefacts", dir, random);
      complete();
    }
    finishRun("artefacts", dir);
    assert.deepEqual(
      complete(),
      Array.from({ length: 10 }, (_, n) => n),
    );
    assert.equal(readdirSync(dir).filter((n) => existsSync(join(dir, n, MANIFEST))).length, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("LanceDB store: killed mid-sync, every committed passage is whole; the next sync embeds only the rest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kill-lancedb-"));
  const random = mulberry32(24);
  const corpus = storePassages();
  const hashOf = new Map(corpus.map((p) => [p._id, contentHash(p)]));
  try {
    let before = 0;
    let partial = 0;
    for (let k = 0; k < KILLS; k++) {
      await killMidWrite("lancedb", dir, random, 1500); // a LanceDB commit takes longer than a file rename
      const store = await openPassageStore(dir);
      const hashes = await store.contentHashes();
      assert.equal(hashes.size % 100, 0, `kill ${k}: ${hashes.size} rows, not whole commits of 100`);
      assert.ok(hashes.size >= before, `kill ${k}: no commit lost`);
      for (const [id, h] of hashes) assert.equal(h, hashOf.get(id), `kill ${k}: ${id} stored whole`);
      // A stored vector is the passage's own: its embedding finds it first.
      const sample = [...hashes.keys()].slice(-3);
      const own = l2Normalize(
        await new CountingEmbedder(16).encode(
          sample.map((id) => {
            const p = corpus.find((c) => c._id === id)!;
            return `${p.title}\n${p.text}`;
          }),
        ),
      );
      (await store.search(own, 1)).forEach((hits, i) => assert.equal(hits[0]?.id, sample[i]));
      if (hashes.size > 0 && hashes.size < corpus.length) partial++;
      before = hashes.size;
    }
    assert.ok(partial > 0, "some kill landed mid-sync");
    const r = spawnSync(process.execPath, ["--import", "tsx", child, "lancedb", dir], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const stored = before;
    assert.equal(
      Number(/embedded (\d+)/.exec(r.stdout)?.[1]),
      corpus.length - stored,
      "only the passages not yet committed",
    );
    assert.equal(await (await openPassageStore(dir)).count(), corpus.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
