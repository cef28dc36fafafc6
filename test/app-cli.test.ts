// `npm run app` / `ts-embed app` as a process: it prints where it listens, serves, and on SIGTERM finishes what is in
// flight and exits 0 with its port closed.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main";
import { buildAppFixture, DATASET, type AppFixture } from "./app-fixture";

const root = join(__dirname, "..");
let fx: AppFixture;

before(async () => {
  fx = await buildAppFixture(mkdtempSync(join(tmpdir(), "app-cli-")), { tune: false });
});

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms; output:\n${out}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${pattern}; output:\n${out}`));
    });
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );

const appArgs = () => [
  "--port",
  "0",
  "--json",
  "--dataset",
  DATASET,
  "--model",
  "offline",
  "--runs-dir",
  fx.runsDir,
  "--reports-dir",
  fx.reportsDir,
];

async function serveThenStop(child: ChildProcess): Promise<void> {
  const ready = JSON.parse(await waitForLine(child, /"event":"ready"/));
  assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.reviewSheet, join(fx.datasetDir, "review", "reviewed.csv"));
  const page = await fetch(`${ready.url}/api/review?limit=1`);
  assert.equal(page.status, 200);
  assert.equal(((await page.json()) as { counts: { total: number } }).counts.total, fx.pairs.length);
  // A request still in flight when SIGTERM arrives is answered: the search waits for the models to load.
  // 500 ms for the request to reach the server on a loaded machine (one that arrives after SIGTERM gets 503, by
  // design); the search then still waits seconds for the models, so it is in flight when the signal lands.
  const inFlight = fetch(`${ready.url}/api/search?q=vacation`).then((r) => r.status);
  await new Promise((r) => setTimeout(r, 500));
  // The app's event loop may be busy loading the models; an answer to a later request shows it has read the
  // earlier one (connections are accepted in order), so the search is in flight before the signal is sent.
  assert.equal((await fetch(`${ready.url}/api/info`)).status, 200);
  const stopped = exited(child);
  child.kill("SIGTERM");
  assert.equal(await inFlight, 200);
  assert.deepEqual(await stopped, { code: 0, signal: null });
  await assert.rejects(fetch(`${ready.url}/api/info`), "nothing listens on the port any more");
}

test("node scripts/app.mjs (what npm run app execs): SIGTERM finishes in-flight requests and exits 0", async () => {
  const child = spawn(process.execPath, [join(root, "scripts", "app.mjs"), ...appArgs()], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await serveThenStop(child);
});

test("npm run app: SIGTERM to npm reaches the app (exec), exit 0", async () => {
  const child = spawn("npm", ["run", "--silent", "app", "--", ...appArgs()], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await serveThenStop(child);
});

test("ts-embed app: bad options are usage errors (exit 2) naming the fix", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (s: string) => err.push(s) };
  assert.equal(
    await main(
      ["app", "--host", "0.0.0.0", "--port", "0", "--runs-dir", fx.runsDir, "--dataset", DATASET, "--model", "offline"],
      io,
    ),
    1,
  );
  assert.match(err.join(""), /--host 0\.0\.0\.0 serves other machines: give --token/);
  err.length = 0;
  assert.equal(await main(["app", "--port", "-3"], io), 2);
  assert.match(err.join(""), /--port must be an integer >= 0/);
  err.length = 0;
  assert.equal(await main(["app", "--dataset", "nope", "--port", "0", "--runs-dir", fx.runsDir], io), 1);
  assert.match(err.join(""), /--dataset nope: not a dataset the course built/);
});
