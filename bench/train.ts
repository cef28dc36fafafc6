/**
 * npm run bench -- train [--json] [--backends wasm,cpu] [--steps N] [--cpu-steps N] [--threads T] [--no-torch] [--no-cached]
 *
 * One optimizer step of the trainer (src/train/trainer.ts: forward of both columns, MultipleNegativesRankingLoss,
 * backward, gradient clipping, AdamW) for a MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate
 * 1536, bert-base-uncased vocabulary; seeded random weights), 16 (query, document) pairs with every text exactly
 * S tokens long, S = 64 and 128, on each available tfjs backend; then the same step in PyTorch
 * (bench/torch_train.py, Debian's /usr/bin/python3, same token ids), run once before and once after ours (the mean
 * is reported: the machine may be shared). Each configuration runs in its own child
 * process, so that a crash (the 4 GiB wasm heap aborts the process) is reported instead of ending the bench.
 * A step = the mean of N timed steps (default 2) after one warm-up step; the trainer's own history gives the
 * per-step times. The pure-JS cpu backend (about a minute per step) runs --cpu-steps timed steps (default 0:
 * a single step, warm-up included, reported as such). Memory case: 64 pairs at S = 128 with CachedMultipleNegativesRankingLoss (mini-batches of 16).
 *
 * Threads: --threads T (default: every core) for both PyTorch (torch.set_num_threads) and the BLAS matMul.
 * Peak memory: on wasm the WebAssembly heap afterwards (it only grows, so it is the peak; the cap is 4 GiB);
 * on other backends the process's peak RSS. --json prints one JSON object on the last line:
 *   { backend, native_matmul, pairs, seq_64: { step_s, torch_step_s, slowdown_vs_torch, peak_heap_mb }, seq_128: {...},
 *     peak_heap_mb, cached_64_pairs_seq_128: {...}, backends: { <name>: { seq_64, seq_128 } } }
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import type { BackendName } from "../src/env";
import { rngFor } from "../src/random";
import { parseTransformerConfig } from "../src/model/config";
import { TransformerEncoder } from "../src/model/encoder";
import { enableNativeMatMul, nativeMatMulInfo } from "../src/native/kernels";
import { initBertWeights } from "../src/model/embedded";
import { poolingConfig } from "../src/model/pooling";
import { SentenceTransformer } from "../src/model/sentence-transformer";
import { offlineBertTokenizer, offlineBertVocab } from "../src/model/tokenizer";
import { CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss } from "../src/train/losses";
import { train } from "../src/train/trainer";

const args = process.argv.slice(2);
const MiB = 2 ** 20;
const RAW_CONFIG = {
  architectures: ["BertModel"],
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 384,
  num_hidden_layers: 6,
  num_attention_heads: 12,
  intermediate_size: 1536,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};

interface ChildSpec {
  backend: BackendName;
  /** BLAS threads for the native matMul (0: OpenBLAS's default). */
  threads: number;
  seq: number;
  pairs: number;
  steps: number;
  loss: "mnrl" | "cached";
  miniBatch: number;
}

interface ChildResult {
  backend: string;
  native_matmul: boolean;
  native_note: string;
  blas_threads: number | null;
  step_s: number;
  step_seconds: number[];
  losses: number[];
  peak_heap_mb: number;
  heap_kind: "wasm heap" | "peak RSS";
  max_rss_mb: number;
  /** Which loss timed the step (set by main: the cached loss where the plain one does not fit the heap). */
  loss?: string;
}

/** Texts of exactly `seq` tokens ([CLS] + seq-2 whole-word vocabulary entries + [SEP]), seeded. */
function makeTexts(count: number, seq: number, key: string): string[] {
  const vocab = offlineBertVocab();
  const words = vocab.filter((w, id) => id >= 1996 && /^[a-z]{3,}$/.test(w));
  const rand = rngFor(1, key);
  return Array.from({ length: count }, () =>
    Array.from({ length: seq - 2 }, () => words[Math.floor(rand() * words.length)]).join(" "),
  );
}

function benchModel(seq: number): SentenceTransformer {
  const config = parseTransformerConfig(RAW_CONFIG, "bench model");
  return new SentenceTransformer({
    name: "minilm-l6-sized",
    source: "bench/train.ts",
    tokenizer: offlineBertTokenizer(seq),
    encoder: new TransformerEncoder(config, initBertWeights(config, 0)),
    pooling: poolingConfig(384, "mean"),
    normalize: true,
  });
}

function rowsFor(spec: { seq: number; pairs: number; steps: number }): { anchor: string; positive: string }[] {
  const n = spec.pairs * (spec.steps + 1);
  const anchors = makeTexts(n, spec.seq, `anchor-${spec.seq}`);
  const positives = makeTexts(n, spec.seq, `positive-${spec.seq}`);
  return anchors.map((anchor, i) => ({ anchor, positive: positives[i] }));
}

async function child(spec: ChildSpec): Promise<ChildResult> {
  const backend = await initBackend(spec.backend);
  const model = benchModel(spec.seq); // the encoder plugs in the BLAS matMul when it is built
  if (spec.threads > 0 && nativeMatMulInfo().active) enableNativeMatMul({ threads: spec.threads });
  const rows = rowsFor(spec);
  const check = model.tokenize([rows[0].anchor]);
  if (check.kind !== "transformer" || check.batch.seqLen !== spec.seq)
    throw new Error(
      `bench texts tokenize to ${check.kind === "transformer" ? check.batch.seqLen : "?"} tokens, expected ${spec.seq}`,
    );
  const loss =
    spec.loss === "cached"
      ? new CachedMultipleNegativesRankingLoss({ scale: 20, miniBatchSize: spec.miniBatch })
      : new MultipleNegativesRankingLoss({ scale: 20 });
  // "default" sampler: all texts are distinct anyway; the batches are the rows in a seeded order.
  const result = await train(model, rows, {
    loss,
    batchSize: spec.pairs,
    learningRate: 2e-5,
    batchSampler: "default",
    seed: 1,
    progress: false,
  });
  const ends = result.history.flatMap((h) => (h.kind === "train" ? [h.seconds] : []));
  const stepSeconds = ends.map((s, i) => s - (i === 0 ? 0 : ends[i - 1]));
  const timed = stepSeconds.length > 1 ? stepSeconds.slice(1) : stepSeconds;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength;
  const maxRss = process.resourceUsage().maxRSS / 1024;
  const info = nativeMatMulInfo();
  return {
    backend: backend.name,
    native_matmul: info.active,
    native_note: info.reason,
    blas_threads: info.threads ?? null,
    step_s: timed.reduce((a, b) => a + b, 0) / timed.length,
    step_seconds: stepSeconds,
    losses: result.history.flatMap((h) => (h.kind === "train" ? [h.loss] : [])),
    peak_heap_mb: wasm !== undefined ? wasm / MiB : maxRss,
    heap_kind: wasm !== undefined ? "wasm heap" : "peak RSS",
    max_rss_mb: maxRss,
  };
}

function runChild(spec: ChildSpec, timeoutS: number): ChildResult | { error: string } {
  const res = spawnSync(process.execPath, ["--import", "tsx", __filename, "--child", JSON.stringify(spec)], {
    encoding: "utf8",
    timeout: timeoutS * 1000,
    maxBuffer: 64 * MiB,
  });
  const last = (res.stdout ?? "").trim().split("\n").pop() ?? "";
  if (res.status === 0 && last.startsWith("{")) return JSON.parse(last) as ChildResult;
  const why = res.error ? String(res.error.message) : res.signal ? `killed by ${res.signal}` : `exit ${res.status}`;
  const lines = (res.stderr ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at "));
  const tail = (lines.find((l) => /Error|Aborted/.test(l)) ?? lines.pop() ?? "").slice(0, 300);
  return { error: `${why}${tail ? `: ${tail}` : ""}` };
}

function torchStep(
  seq: number,
  pairs: number,
  steps: number,
  threads: number,
): { step_s: number; version: string; threads: number } | { error: string } {
  const rows = rowsFor({ seq, pairs, steps });
  const tok = offlineBertTokenizer(seq);
  const ids = (texts: string[]) => {
    const b = tok.encodeBatch(texts);
    return Array.from({ length: b.batchSize }, (_, r) =>
      Array.from(b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen)),
    );
  };
  const batches = [];
  for (let i = 0; i + pairs <= rows.length; i += pairs) {
    const chunk = rows.slice(i, i + pairs);
    batches.push({ anchor: ids(chunk.map((r) => r.anchor)), positive: ids(chunk.map((r) => r.positive)) });
  }
  const dir = mkdtempSync(join(tmpdir(), "bench-train-"));
  try {
    const specPath = join(dir, "spec.json");
    writeFileSync(specPath, JSON.stringify({ config: RAW_CONFIG, batches }));
    const res = spawnSync("/usr/bin/python3", [join(__dirname, "torch_train.py"), specPath, String(threads)], {
      encoding: "utf8",
      timeout: 600_000,
    });
    if (res.status !== 0)
      return { error: (res.stderr || String(res.error ?? "")).trim().split("\n").pop() ?? "failed" };
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      mean_step_s: number;
      torch_version: string;
      threads: number;
    };
    return { step_s: out.mean_step_s, version: out.torch_version, threads: out.threads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  // Installed is not enough: tfjs-node can be present without its native library (its install downloads it).
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    const probe = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(pkg)})`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (probe.status === 0) {
      out.push("tensorflow");
      break;
    }
  }
  try {
    require.resolve("@tensorflow/tfjs-backend-wasm");
    out.push("wasm");
  } catch {
    // not installed
  }
  out.push("cpu");
  return out;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

function describe(r: ChildResult | { error: string }): string {
  if ("error" in r) return `FAILED (${r.error})`;
  return `${r.step_s.toFixed(2)} s/step (steps ${r.step_seconds.map((s) => s.toFixed(2)).join(", ")}), ${r.heap_kind} ${r.peak_heap_mb.toFixed(0)} MB, BLAS matMul ${r.native_matmul ? `on (${r.blas_threads} threads)` : "off"}`;
}

async function main(): Promise<void> {
  const json = args.includes("--json");
  const stepsIdx = args.indexOf("--steps");
  const steps = stepsIdx >= 0 ? Number(args[stepsIdx + 1]) : 2;
  // Both sides get the same number of threads: by default every core (PyTorch's own default here is 1).
  const threadsIdx = args.indexOf("--threads");
  const threads = threadsIdx >= 0 ? Number(args[threadsIdx + 1]) : cpus().length;
  const cpuIdx = args.indexOf("--cpu-steps");
  const cpuSteps = cpuIdx >= 0 ? Number(args[cpuIdx + 1]) : 0;
  const backendsIdx = args.indexOf("--backends");
  const backends = backendsIdx >= 0 ? (args[backendsIdx + 1].split(",") as BackendName[]) : availableBackends();
  const pairs = 16;
  const seqs = [64, 128];
  const torchBefore: Record<string, ReturnType<typeof torchStep>> = {};
  if (!args.includes("--no-torch"))
    for (const seq of seqs) torchBefore[`seq_${seq}`] = torchStep(seq, pairs, steps, threads);
  const perBackend: Record<string, Record<string, ChildResult | { error: string }>> = {};
  for (const backend of backends) {
    perBackend[backend] = {};
    // The pure-JS cpu backend takes about a minute per step even with BLAS products: one step, warm-up included.
    const backendSteps = backend === "cpu" ? cpuSteps : steps;
    for (const seq of seqs) {
      let r: ChildResult | { error: string } = runChild(
        { backend, threads, seq, pairs, steps: backendSteps, loss: "mnrl", miniBatch: pairs },
        600,
      );
      let via = "MultipleNegativesRankingLoss";
      console.log(`${backend} seq ${seq}, ${pairs} pairs: ${describe(r)}`);
      if ("error" in r && backend !== "tensorflow") {
        // The plain loss keeps every activation of the 32 texts alive and overruns the 4 GiB wasm heap at seq 128.
        // The cached loss gives the same loss and gradients (tested) in bounded memory: time the same step with it.
        r = runChild({ backend, threads, seq, pairs, steps: backendSteps, loss: "cached", miniBatch: 8 }, 600);
        via = "CachedMultipleNegativesRankingLoss (mini-batch 8; same gradients)";
        console.log(`${backend} seq ${seq}, ${pairs} pairs, ${via}: ${describe(r)}`);
      }
      perBackend[backend][`seq_${seq}`] = "error" in r ? r : { ...r, loss: via };
    }
  }
  // The machine may be shared: PyTorch runs once before ours (above) and once after, and its time is the mean.
  const torch: Record<string, ReturnType<typeof torchStep>> = {};
  const torchRuns: Record<string, number[]> = {};
  if (!args.includes("--no-torch")) {
    for (const seq of seqs) {
      const before = torchBefore[`seq_${seq}`];
      const after = torchStep(seq, pairs, steps, threads);
      const t =
        "error" in before
          ? before
          : "error" in after
            ? after
            : { ...after, step_s: (before.step_s + after.step_s) / 2 };
      torch[`seq_${seq}`] = t;
      if (!("error" in before) && !("error" in after))
        torchRuns[`seq_${seq}`] = [round(before.step_s), round(after.step_s)];
      console.log(
        `PyTorch seq ${seq}, ${pairs} pairs: ${"error" in t ? `not measured (${t.error}; apt-get install -y python3-torch)` : `${t.step_s.toFixed(2)} s/step (torch ${t.version}, ${t.threads} threads; runs ${torchRuns[`seq_${seq}`].join(", ")})`}`,
      );
    }
  }
  const main = backends.includes("tensorflow") ? "tensorflow" : backends.includes("wasm") ? "wasm" : backends[0];
  let cached: ChildResult | { error: string } | null = null;
  if (!args.includes("--no-cached")) {
    cached = runChild({ backend: main, threads, seq: 128, pairs: 64, steps: 0, loss: "cached", miniBatch: 16 }, 600);
    console.log(
      `${main} seq 128, 64 pairs, CachedMultipleNegativesRankingLoss (mini-batch 16): ${"error" in cached ? `FAILED (${cached.error})` : `${cached.step_s.toFixed(2)} s/step, ${cached.heap_kind} ${cached.peak_heap_mb.toFixed(0)} MB`}`,
    );
  }
  const summary = (backend: string, seq: number) => {
    const r = perBackend[backend][`seq_${seq}`];
    const t = torch[`seq_${seq}`];
    const torchS = t && !("error" in t) ? t.step_s : null;
    if ("error" in r)
      return { error: r.error, torch_step_s: torchS && round(torchS), slowdown_vs_torch: null, peak_heap_mb: null };
    return {
      loss: r.loss,
      step_s: round(r.step_s),
      torch_step_s: torchS && round(torchS),
      slowdown_vs_torch: torchS ? round(r.step_s / torchS) : null,
      peak_heap_mb: round(r.peak_heap_mb, 0),
      heap_kind: r.heap_kind,
      warmup_included: r.step_seconds.length === 1,
    };
  };
  console.log("\nstep time, 16 pairs     " + seqs.map((s) => `seq ${s}`.padStart(22)).join(""));
  for (const b of backends)
    console.log(
      `${b.padEnd(24)}${seqs
        .map((s) => {
          const x = summary(b, s);
          return ("error" in x ? "crashed" : `${x.step_s} s (${x.slowdown_vs_torch ?? "?"}x)`).padStart(22);
        })
        .join("")}`,
    );
  if (Object.keys(torch).length)
    console.log(
      `${"PyTorch".padEnd(24)}${seqs
        .map((s) => {
          const t = torch[`seq_${s}`];
          return ("error" in t ? "n/a" : `${t.step_s.toFixed(2)} s`).padStart(22);
        })
        .join("")}`,
    );
  const mainResults = Object.fromEntries(seqs.map((s) => [`seq_${s}`, summary(main, s)]));
  const peaks = seqs
    .map((s) => perBackend[main][`seq_${s}`])
    .filter((r): r is ChildResult => !("error" in r))
    .map((r) => r.peak_heap_mb);
  const first = Object.values(perBackend[main]).find((r): r is ChildResult => !("error" in r));
  const out = {
    backend: main,
    native_matmul: first?.native_matmul ?? null,
    native_note: first?.native_note ?? null,
    blas_threads: first?.blas_threads ?? null,
    torch_threads: threads,
    pairs,
    steps_timed: steps,
    model: "MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536), random weights",
    ...mainResults,
    peak_heap_mb: peaks.length ? round(Math.max(...peaks), 0) : null,
    cached_64_pairs_seq_128:
      cached &&
      ("error" in cached
        ? cached
        : { step_s: round(cached.step_s), peak_heap_mb: round(cached.peak_heap_mb, 0), heap_kind: cached.heap_kind }),
    backends: Object.fromEntries(
      backends.map((b) => [b, Object.fromEntries(seqs.map((s) => [`seq_${s}`, summary(b, s)]))]),
    ),
    torch: Object.fromEntries(
      Object.entries(torch).map(([k, t]) => [
        k,
        "error" in t ? t : { step_s: round(t.step_s), runs: torchRuns[k], version: t.version, threads: t.threads },
      ]),
    ),
  };
  if (json) console.log(JSON.stringify(out));
}

if (args[0] === "--child") {
  child(JSON.parse(args[1]) as ChildSpec).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
