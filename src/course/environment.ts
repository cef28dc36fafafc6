/**
 * What this machine runs the course with: the versions, the tfjs backend and why, whether the
 * faiss index and the Jupyter runner are there, offline mode and cache folders. Notebook 0 shows it
 * so that a participant sees at once what their numbers were measured on.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { backendInfo, initBackend, tf } from "../backend";
import { getConfig, type CourseConfig } from "../env";
import { nativeMatMulInfo } from "../native/kernels";
import { onnxRuntimeInfo } from "../model/onnx/session";
import { loadFaiss } from "../retrieval/faiss";

export interface EnvironmentRow {
  component: string;
  status: string;
  detail: string;
}

/** Installed version of an npm package (read from node_modules: some packages do not export package.json). */
function packageVersion(name: string): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(getConfig().repoRoot, "node_modules", name, "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
  } catch {
    return undefined;
  }
}

/** Which engine SentenceTransformer.encode uses for inference on this machine, and why. */
export function encodeRuntimeRow(cfg: Pick<CourseConfig, "onnx" | "onnxThreads"> = getConfig()): EnvironmentRow {
  const ort = onnxRuntimeInfo();
  if (!cfg.onnx)
    return {
      component: "encode runtime",
      status: "tfjs",
      detail: "COURSE_ONNX=0: encoding runs on tfjs like training",
    };
  if (!ort.available) return { component: "encode runtime", status: "tfjs", detail: ort.reason };
  const threads = cfg.onnxThreads ?? availableParallelism();
  return {
    component: "encode runtime",
    status: `ONNX Runtime ${ort.version}, ${threads} thread(s)`,
    detail:
      "Transformer models encode (corpora, evaluation, serving) on onnxruntime-node with a graph of their current weights; " +
      `training and StaticEmbedding models run on tfjs; threads: ${cfg.onnxThreads === undefined ? "one per CPU" : "COURSE_ONNX_THREADS"}`,
  };
}

/**
 * A backend note for a reader: the optional native packages tfjs tries first are reported as what they are
 * (not installed, or installed without the binary their install script downloads), not as a raw load error that
 * reads like a fault. Other notes pass through.
 */
export function backendNote(note: string): string {
  const m = /^(@tensorflow\/tfjs-node(?:-gpu)?) not usable: (.*)$/.exec(note);
  if (!m) return note;
  const [, pkg, reason] = m;
  if (/Cannot find module/.test(reason)) return `${pkg}: not installed (optional)`;
  if (/tfjs_binding\.node|native addon/i.test(reason))
    return `${pkg}: installed without its native library (its download at install time failed; optional, see environment.md)`;
  return `${pkg}: not loaded (optional): ${reason}`;
}

/** One row per component; initialises the tfjs backend if that has not happened yet. */
export async function environmentReport(): Promise<EnvironmentRow[]> {
  const backend = backendInfo() ?? (await initBackend());
  const faiss = loadFaiss(); // with its self-test: what the vector index will use
  // initBackend() put matrix products on the system BLAS (wasm / cpu) when the addon is built.
  const blas = backend.name === "tensorflow" ? undefined : nativeMatMulInfo();
  const offlineModel = getConfig().model === "offline" || getConfig().model.startsWith("offline");
  return [
    { component: "node", status: process.version, detail: `${process.platform}-${process.arch}` },
    {
      component: "tfjs backend",
      status: backend.name,
      detail: [backend.package, ...backend.notes.map(backendNote)].join("; "),
    },
    {
      component: "matrix products",
      status:
        blas === undefined
          ? "TensorFlow (native)"
          : blas.active
            ? `native BLAS, ${blas.threads} thread(s)`
            : `tfjs ${backend.name} kernels`,
      detail: blas === undefined ? "the tensorflow backend multiplies natively" : blas.reason,
    },
    encodeRuntimeRow(),
    {
      component: "@tensorflow/tfjs",
      status: packageVersion("@tensorflow/tfjs") ?? "missing",
      detail: `tf.version ${tf.version.tfjs}`,
    },
    {
      component: "vector index",
      status: faiss.module ? "faiss" : "TypeScript fallback",
      detail: faiss.module ? `faiss-node ${packageVersion("faiss-node")}` : `${faiss.reason} — run \`npm run setup\``,
    },
    {
      component: "nodejs-polars",
      status: packageVersion("nodejs-polars") ?? "missing",
      detail: "tables, JSONL / Parquet IO",
    },
    {
      component: "@huggingface/transformers",
      status: packageVersion("@huggingface/transformers") ?? "missing",
      detail: "tokenizers",
    },
    {
      component: "model",
      status: offlineModel ? "embedded offline default" : getConfig().model,
      detail: offlineModel
        ? "no download; set COURSE_MODEL=sentence-transformers/all-MiniLM-L6-v2 (or another Hub id) to use a Hub model"
        : "from the Hugging Face Hub or a local folder",
    },
    {
      component: "offline mode",
      status: getConfig().offline ? "on" : "off",
      detail: getConfig().offline
        ? "HF_HUB_OFFLINE / COURSE_OFFLINE set: nothing is downloaded"
        : "models may be downloaded from the Hub",
    },
    { component: "Hub cache", status: getConfig().hfHubCache, detail: "HF_HOME / HF_HUB_CACHE, shared with Python" },
    {
      component: "LLM endpoint",
      status: getConfig().llm.baseUrl ?? "none",
      detail: getConfig().llm.baseUrl
        ? `model ${getConfig().llm.model ?? "(COURSE_LLM_MODEL unset)"}`
        : "offline template generator is used",
    },
  ];
}

export interface MatMulTiming {
  size: number;
  seconds: number;
  gflops: number;
}

/**
 * Times square float32 matrix products n x n on the current backend (median of `repeats` after a
 * warm-up), the operation that dominates encoding and training. 2 n^3 floating-point operations each.
 * On wasm / cpu they run on the native BLAS addon when environmentReport() (or loading a model) enabled it.
 */
export async function measureMatMul(sizes: number[] = [128, 256, 512], repeats = 5): Promise<MatMulTiming[]> {
  await (backendInfo() ? Promise.resolve() : initBackend());
  const out: MatMulTiming[] = [];
  for (const n of sizes) {
    const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
    const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
    const times: number[] = [];
    for (let r = 0; r <= repeats; r++) {
      const t0 = process.hrtime.bigint();
      const c = tf.matMul(a, b);
      await c.data();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      c.dispose();
      if (r > 0) times.push(dt); // the first run includes kernel set-up
    }
    a.dispose();
    b.dispose();
    times.sort((x, y) => x - y);
    const seconds = times[Math.floor(times.length / 2)];
    out.push({ size: n, seconds, gflops: (2 * n ** 3) / seconds / 1e9 });
  }
  return out;
}
