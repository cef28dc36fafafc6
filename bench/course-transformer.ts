/**
 * npm run bench -- course-transformer [--json] [--models minilm-l6,bge-small] [--dir DIR] [--cell-timeout S]
 *
 * The whole course (`npm run course`, all seven notebooks, headless) on Transformer-sized models: for each shape it
 * builds a folder shaped exactly like the Hub model (test/fixtures/shaped-model.ts: all-MiniLM-L6-v2 = 6 layers,
 * hidden 384, max_seq_length 256; bge-small-en-v1.5 = 12 layers, hidden 384, max_seq_length 512; the project's
 * bert-base-uncased vocabulary, seeded random weights) in a temporary folder, runs the course on it with
 * COURSE_MODEL=<folder> (reports and run artefacts in the same temporary folder, so nothing is reused from an earlier
 * run; --dir DIR keeps them in DIR, and a second run there shows the reuse of finished artefacts), and prints one JSON
 * line per model:
 *
 *   {"model", "ok", "seconds_total", "seconds_per_notebook": {"00_environment": ...}, "peak_rss_mb", "train_steps",
 *    "s_per_step", "load_avg"}
 *
 * peak_rss_mb: the largest sum of resident memory of the course's process tree (node, Python, the notebook kernel),
 * sampled every 2 s from /proc. train_steps / s_per_step: every training of the run, from the history.json of each
 * fine-tuned model (step times without the evaluations between them) and the cached runs of notebook 04 (their
 * training seconds). load_avg: the 1-minute load average at the start and the end (timings on a shared machine are
 * noisy: compare ratios). Random weights: the figures are about time and memory, not retrieval quality.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MODEL_SHAPES, type ModelShapeName, writeShapedModelFolder } from "../test/fixtures/shaped-model";

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    models: { type: "string", default: "minilm-l6,bge-small" },
    dir: { type: "string" },
    "cell-timeout": { type: "string", default: "7200" },
  },
});

const root = join(__dirname, "..");
const models = flags.models.split(",").map((m) => m.trim()) as ModelShapeName[];
for (const m of models)
  if (!(m in MODEL_SHAPES))
    throw new Error(`--models: unknown shape "${m}"; use ${Object.keys(MODEL_SHAPES).join(", ")}`);

/** Resident bytes of `pid` and all its descendants, from /proc (Linux); 0 elsewhere. */
function treeRss(pid: number): number {
  if (!existsSync("/proc")) return 0;
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ... ; comm may hold spaces, so split after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      const pages = Number(fields[21]);
      rss.set(Number(entry), pages * 4096);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

/** Every file under `dir` whose name passes `keep`. */
function files(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p, keep));
    else if (keep(e)) out.push(p);
  }
  return out;
}

/** Every history.json under `dir` (the fine-tuned models of notebook 03). */
const histories = (dir: string) => files(dir, (f) => f === "history.json");

/** Steps and training seconds (no evaluation time) of every training the course ran. */
function trainingFigures(runsDir: string): { steps: number; seconds: number } {
  let steps = 0;
  let seconds = 0;
  for (const path of histories(runsDir)) {
    const entries = (JSON.parse(readFileSync(path, "utf8")) as { entries: { kind: string; seconds: number }[] })
      .entries;
    let prev: { kind: string; seconds: number } | undefined;
    for (const e of entries) {
      // A step's time: from the entry before it, unless that was an evaluation (its time is not a step's).
      if (e.kind === "train") {
        steps += 1;
        if (prev?.kind === "train") seconds += e.seconds - prev.seconds;
        else if (prev === undefined) seconds += e.seconds;
      }
      prev = e;
    }
  }
  // Notebook 4's runs: compareNegatives caches each as <runDir>/negatives-<setting>/negatives-<condition>-<key>.json.
  for (const path of files(runsDir, (f) => /^negatives-[a-z-]+-[0-9a-f]{16}\.json$/.test(f))) {
    const run = JSON.parse(readFileSync(path, "utf8")) as { steps: number; trainSeconds: number };
    steps += run.steps;
    seconds += run.trainSeconds;
  }
  return { steps, seconds };
}

interface CourseRun {
  model: string;
  stands_for: string;
  ok: boolean;
  seconds_total: number;
  seconds_per_notebook: Record<string, number>;
  peak_rss_mb: number;
  train_steps: number;
  s_per_step: number | null;
  load_avg: { start: number; end: number };
  log: string;
}

async function runCourse(name: ModelShapeName, base: string): Promise<CourseRun> {
  const shape = MODEL_SHAPES[name];
  const modelDir = join(base, name, "model");
  if (!existsSync(join(modelDir, "model.safetensors"))) writeShapedModelFolder(modelDir, shape);
  const reportsDir = join(base, name, "reports");
  const runsDir = join(base, name, "runs");
  mkdirSync(reportsDir, { recursive: true });
  const log: string[] = [];
  const loadStart = loadavg()[0];
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, "scripts", "course.mjs"), "--no-html"], {
    cwd: root,
    env: {
      ...process.env,
      COURSE_MODEL: modelDir,
      COURSE_REPORTS_DIR: reportsDir,
      COURSE_RUNS_DIR: runsDir,
      COURSE_CELL_TIMEOUT: flags["cell-timeout"],
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let peak = 0;
  const sampler = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treeRss(child.pid));
  }, 2000);
  const perNotebook: Record<string, number> = {};
  const onLine = (line: string) => {
    log.push(line);
    const done = /^\[(\d\d_[\w-]+)\] done in ([\d.]+) s/.exec(line);
    if (done) perNotebook[done[1]] = Number(done[2]);
    if (!flags.json && (done || /FAILED|ERROR|train: /.test(line))) console.error(`  [${name}] ${line}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      lines.forEach(onLine);
    });
  }
  // Forward Ctrl-C / SIGTERM to the course, so its kernel does not outlive the bench.
  const stop = () => child.kill("SIGTERM");
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  clearInterval(sampler);
  process.removeListener("SIGINT", stop);
  process.removeListener("SIGTERM", stop);
  writeFileSync(join(reportsDir, "course.log"), `${log.join("\n")}\n`);
  const training = trainingFigures(runsDir);
  return {
    model: name,
    stands_for: shape.standsFor,
    ok: code === 0 && Object.keys(perNotebook).length === 7,
    seconds_total: Math.round((performance.now() - started) / 100) / 10,
    seconds_per_notebook: perNotebook,
    peak_rss_mb: Math.round(peak / 1024 ** 2),
    train_steps: training.steps,
    s_per_step: training.steps > 0 ? Math.round((100 * training.seconds) / training.steps) / 100 : null,
    load_avg: { start: Math.round(100 * loadStart) / 100, end: Math.round(100 * loadavg()[0]) / 100 },
    log: join(reportsDir, "course.log"),
  };
}

async function main(): Promise<void> {
  const base = flags.dir ?? mkdtempSync(join(tmpdir(), "course-transformer-"));
  if (!flags.json) console.error(`course-transformer: models and reports in ${base}`);
  let failed = false;
  for (const name of models) {
    const run = await runCourse(name, base);
    failed ||= !run.ok;
    if (!flags.json)
      console.log(
        `${name} (${run.stands_for}): ${run.ok ? "ok" : "FAILED"} in ${(run.seconds_total / 60).toFixed(1)} min, ` +
          `peak RSS ${run.peak_rss_mb} MB, ${run.train_steps} training steps at ${run.s_per_step ?? "-"} s/step, ` +
          `load ${run.load_avg.start} -> ${run.load_avg.end}; per notebook: ${JSON.stringify(run.seconds_per_notebook)}; ` +
          `log ${run.log}`,
      );
    const { log: _log, ...line } = run;
    if (flags.json) console.log(JSON.stringify(line));
  }
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
