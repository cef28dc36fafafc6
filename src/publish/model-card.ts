/**
 * A model card (README.md) in sentence-transformers' style, generated from what was measured: YAML front
 * matter the Hub reads (base_model, library_name, pipeline_tag, tags, datasets, metrics, model-index with
 * the evaluation values) and sections for the model, usage in Python and TypeScript, training data, loss,
 * hyperparameters, evaluation results and framework versions. Nothing is invented: a section whose facts
 * were not recorded says so instead of showing made-up numbers.
 *
 * Inputs: the model folder itself (modules.json, config.json, 1_Pooling/config.json, sentence_bert_config.json),
 * training_summary.json written by `train` (copied into best/ and final/), and optionally the JSON that
 * `eval --results` writes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** training_summary.json as `train` writes it. */
export interface TrainingSummary {
  baseModel: string;
  dataset: string;
  trainRows: number;
  columns: string[];
  sampleRows: { anchor: string; positive: string; negative?: string }[];
  loss: { name: string; config: Record<string, unknown> };
  hyperparameters: Record<string, unknown>;
  steps: number;
  trainLoss: number;
  best: { metric: string; value: number; step: number } | null;
  seconds: number;
  frameworkVersions: Record<string, string>;
}

/** The JSON `eval --results` writes (the systems evaluated on one split). */
export interface EvalResults {
  dataset: string;
  split: string;
  queries: number;
  corpus: number;
  systems: { system: string; scoreFunction?: string; metrics: Record<string, number> }[];
}

/** What the card says about the folder's modules. */
export interface ModelFacts {
  modules: string[];
  architecture?: string;
  layers?: number;
  hiddenSize?: number;
  dimension?: number;
  maxSeqLength?: number;
  pooling?: string;
  normalize: boolean;
  similarity: string;
  vocabSize?: number;
}

export interface CardInputs {
  repo: string;
  model: ModelFacts;
  training?: TrainingSummary;
  evaluation?: EvalResults;
  /** Which evaluated system is this model (default: the first one that is not bm25). */
  evalSystem?: string;
  license?: string;
  language?: string;
  /** Framework versions when there is no training summary (e.g. the current process's). */
  frameworkVersions?: Record<string, string>;
}

function readJson(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message}).`);
  }
}

/** Reads the model facts from a sentence-transformers folder without loading weights. */
export function readModelFacts(folder: string): ModelFacts {
  const modulesJson = readJson(join(folder, "modules.json")) as unknown as { type: string; path: string }[] | undefined;
  const modules = (modulesJson ?? []).map((m) => String(m.type).split(".").pop() as string);
  const first = modulesJson?.[0]?.path ?? "";
  const cfg = readJson(join(folder, first, "config.json")) ?? readJson(join(folder, "config.json"));
  const sbert =
    readJson(join(folder, first, "sentence_bert_config.json")) ?? readJson(join(folder, "sentence_bert_config.json"));
  const poolingEntry = (modulesJson ?? []).find((m) => String(m.type).endsWith("Pooling"));
  const pooling = poolingEntry ? readJson(join(folder, poolingEntry.path, "config.json")) : undefined;
  const stCfg = readJson(join(folder, "config_sentence_transformers.json"));
  const modes = pooling
    ? Object.entries(pooling)
        .filter(([k, v]) => k.startsWith("pooling_mode_") && v === true)
        .map(([k]) => k.replace("pooling_mode_", "").replace(/_tokens?$/, ""))
    : [];
  let dimension =
    typeof pooling?.word_embedding_dimension === "number"
      ? pooling.word_embedding_dimension * Math.max(1, modes.length)
      : undefined;
  let vocabSize = typeof cfg?.vocab_size === "number" ? cfg.vocab_size : undefined;
  if (dimension === undefined && modules.includes("StaticEmbedding")) {
    // StaticEmbedding: the table's width is in the safetensors header (8-byte length, then JSON).
    const st = join(folder, first, "model.safetensors");
    if (existsSync(st)) {
      const buf = readFileSync(st);
      const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString("utf8")) as Record<
        string,
        { shape?: number[] }
      >;
      const shape = header["embedding.weight"]?.shape;
      if (shape) [vocabSize, dimension] = shape;
    }
  }
  if (modules.length === 0 && cfg) modules.push("Transformer", "Pooling");
  if (modules.length === 0)
    throw new Error(
      `${folder}: not a model folder (no modules.json or config.json); publish a folder written by model.save() or train (best/ or final/).`,
    );
  return {
    modules,
    architecture: Array.isArray(cfg?.architectures)
      ? String((cfg?.architectures as unknown[] | undefined)?.[0])
      : typeof cfg?.model_type === "string"
        ? cfg.model_type
        : undefined,
    layers: typeof cfg?.num_hidden_layers === "number" ? cfg.num_hidden_layers : undefined,
    hiddenSize: typeof cfg?.hidden_size === "number" ? cfg.hidden_size : undefined,
    dimension,
    maxSeqLength: typeof sbert?.max_seq_length === "number" ? sbert.max_seq_length : undefined,
    pooling: modes.length > 0 ? modes.join("+") : undefined,
    normalize: modules.includes("Normalize"),
    similarity: typeof stCfg?.similarity_fn_name === "string" ? stCfg.similarity_fn_name : "cosine",
    vocabSize,
  };
}

/** Reads training_summary.json from the folder (or its parent, the train output folder), if there is one. */
export function readTrainingSummary(folder: string): TrainingSummary | undefined {
  for (const p of [join(folder, "training_summary.json"), join(folder, "..", "training_summary.json")]) {
    const j = readJson(p);
    if (j) return j as unknown as TrainingSummary;
  }
  return undefined;
}

/** A YAML scalar: plain when safe, else JSON-quoted (JSON strings are valid YAML). */
function yamlScalar(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === "boolean") return String(v);
  const s = String(v);
  return /^[A-Za-z0-9][A-Za-z0-9 _./@+-]*$/.test(s) &&
    !/^(true|false|null|yes|no|on|off|~)$/i.test(s) &&
    !/: | #/.test(s)
    ? s
    : JSON.stringify(s);
}

function yamlList(key: string, items: string[]): string[] {
  return items.length === 0 ? [] : [`${key}:`, ...items.map((i) => `- ${yamlScalar(i)}`)];
}

/** "cosine_ndcg@10" -> "Cosine Ndcg@10", as sentence-transformers' cards name metrics. */
function metricTitle(key: string): string {
  return key
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

function datasetId(training?: TrainingSummary, evaluation?: EvalResults): string | undefined {
  const d = training?.dataset ?? evaluation?.dataset;
  if (!d) return undefined;
  return /^[\w.-]+$/.test(d) || /^[\w.-]+\/[\w.-]+$/.test(d) ? d : (d.split(/[\\/]/).filter(Boolean).pop() ?? d);
}

function chosenSystem(ev: EvalResults, name?: string): EvalResults["systems"][number] {
  const s = name ? ev.systems.find((x) => x.system === name) : ev.systems.find((x) => x.system !== "bm25");
  if (!s)
    throw new Error(
      `evaluation results: no system ${name ? `"${name}"` : "other than bm25"} (have ${ev.systems.map((x) => x.system).join(", ")}).`,
    );
  return s;
}

const fmt = (x: unknown) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toPrecision(4)) : String(x));

export function generateModelCard(inputs: CardInputs): string {
  const { repo, model, training, evaluation } = inputs;
  const base = training?.baseModel;
  const baseIsHub = base !== undefined && /^[\w.-]+\/[\w.-]+$/.test(base);
  const dataset = datasetId(training, evaluation);
  const system = evaluation ? chosenSystem(evaluation, inputs.evalSystem) : undefined;
  const score = system?.scoreFunction ?? "cosine";
  const metricKeys = system ? Object.keys(system.metrics) : [];
  const name = repo.split("/").pop() as string;
  const title = base ? `SentenceTransformer based on ${base}` : `SentenceTransformer ${name}`;

  const yaml: string[] = ["---"];
  if (inputs.language) yaml.push(`language: ${yamlScalar(inputs.language)}`);
  if (inputs.license) yaml.push(`license: ${yamlScalar(inputs.license)}`);
  yaml.push("library_name: sentence-transformers", "pipeline_tag: sentence-similarity");
  yaml.push(
    ...yamlList("tags", [
      "sentence-transformers",
      "sentence-similarity",
      "feature-extraction",
      ...(training ? ["generated_from_trainer", `loss:${training.loss.name}`] : []),
      "ts-embedding-finetune",
    ]),
  );
  if (baseIsHub) yaml.push(`base_model: ${yamlScalar(base)}`);
  if (dataset && /^[\w.-]+\/[\w.-]+$/.test(dataset)) yaml.push(...yamlList("datasets", [dataset]));
  if (system) {
    yaml.push(
      ...yamlList(
        "metrics",
        metricKeys.map((k) => `${score}_${k}`),
      ),
    );
    yaml.push(
      "model-index:",
      `- name: ${yamlScalar(title)}`,
      "  results:",
      "  - task:",
      "      type: information-retrieval",
      "      name: Information Retrieval",
      "    dataset:",
      `      name: ${yamlScalar(`${datasetId(undefined, evaluation)} ${evaluation?.split}`)}`,
      `      type: ${yamlScalar(`${datasetId(undefined, evaluation)}-${evaluation?.split}`)}`,
      "    metrics:",
      ...metricKeys.flatMap((k) => [
        `    - type: ${yamlScalar(`${score}_${k}`)}`,
        `      value: ${system.metrics[k]}`,
        `      name: ${yamlScalar(metricTitle(`${score}_${k}`))}`,
      ]),
    );
  }
  yaml.push("---");

  const md: string[] = [`# ${title}`, ""];
  md.push(
    `This is a [sentence-transformers](https://www.SBERT.net) model${base ? ` fine-tuned from ${baseIsHub ? `[${base}](https://huggingface.co/${base})` : `\`${base}\``}` : ""}` +
      `${dataset ? ` on ${dataset}` : ""}. It maps sentences and paragraphs to a ${model.dimension ?? "?"}-dimensional dense vector space and can be used for ` +
      "semantic search, retrieval-augmented generation, clustering and similar tasks. It was trained in TypeScript with ts-embedding-finetune and " +
      "loads unchanged in Python's sentence-transformers.",
    "",
    "## Model Details",
    "",
    "| | |",
    "|---|---|",
    `| Model type | Sentence Transformer |`,
    ...(base ? [`| Base model | ${baseIsHub ? `[${base}](https://huggingface.co/${base})` : `\`${base}\``} |`] : []),
    `| Maximum sequence length | ${model.maxSeqLength !== undefined ? `${model.maxSeqLength} tokens` : model.modules.includes("StaticEmbedding") ? "no limit (static embeddings)" : "not recorded"} |`,
    `| Output dimensionality | ${model.dimension ?? "not recorded"} |`,
    `| Similarity function | ${model.similarity} |`,
    ...(dataset ? [`| Training dataset | ${dataset} |`] : []),
    "",
    "### Full Model Architecture",
    "",
    "```",
    `SentenceTransformer(\n  ${model.modules
      .map((m, i) => {
        if (m === "Transformer")
          return `(${i}): Transformer({'architecture': '${model.architecture ?? "?"}', 'layers': ${model.layers ?? "?"}, 'hidden_size': ${model.hiddenSize ?? "?"}, 'max_seq_length': ${model.maxSeqLength ?? "?"}})`;
        if (m === "Pooling")
          return `(${i}): Pooling({'pooling_mode': '${model.pooling ?? "?"}', 'word_embedding_dimension': ${model.hiddenSize ?? model.dimension ?? "?"}})`;
        if (m === "StaticEmbedding")
          return `(${i}): StaticEmbedding({'vocab_size': ${model.vocabSize ?? "?"}, 'embedding_dim': ${model.dimension ?? "?"}})`;
        return `(${i}): ${m}()`;
      })
      .join("\n  ")}\n)`,
    "```",
    "",
    "## Usage",
    "",
    "### Python (sentence-transformers)",
    "",
    "```bash",
    "pip install -U sentence-transformers",
    "```",
    "",
    "```python",
    "from sentence_transformers import SentenceTransformer",
    "",
    `model = SentenceTransformer(${JSON.stringify(repo)})`,
    'sentences = ["How many vacation days do I get?", "Employees receive 25 days of paid leave per year."]',
    "embeddings = model.encode(sentences)",
    "print(embeddings.shape)",
    `# (2, ${model.dimension ?? "dim"})`,
    "similarities = model.similarity(embeddings, embeddings)",
    "```",
    "",
    "### TypeScript (ts-embedding-finetune)",
    "",
    "```ts",
    'import { loadModel } from "./src/model/index";',
    "",
    `const model = await loadModel(${JSON.stringify(repo)});`,
    'const { data, dim } = await model.encode(["How many vacation days do I get?"]);',
    "```",
    "",
    "Or serve it behind an OpenAI-compatible API and use any OpenAI client:",
    "",
    "```bash",
    `npm run cli -- serve --model ${repo} --port 8080`,
    "```",
    "",
  );

  if (evaluation && system) {
    md.push(
      "## Evaluation",
      "",
      "### Information Retrieval",
      "",
      `Dataset: ${datasetId(undefined, evaluation)}, split \`${evaluation.split}\` (${evaluation.queries} queries, ${evaluation.corpus} passages), ` +
        "evaluated with `InformationRetrievalEvaluator` (same metric definitions as sentence-transformers).",
      "",
      `| Metric | ${evaluation.systems.map((s) => (s === system ? `**${s.system}** (this model)` : s.system)).join(" | ")} |`,
      `|:--|${evaluation.systems.map(() => "--:").join("|")}|`,
      ...metricKeys.map(
        (k) =>
          `| ${score}_${k} | ${evaluation.systems.map((s) => (s.metrics[k] === undefined ? "" : s === system ? `**${s.metrics[k].toFixed(4)}**` : s.metrics[k].toFixed(4))).join(" | ")} |`,
      ),
      "",
    );
  } else {
    md.push(
      "## Evaluation",
      "",
      "No evaluation results were given when this card was generated (`publish --eval <results.json>` from `eval --results`).",
      "",
    );
  }

  md.push("## Training Details", "");
  if (training) {
    md.push(
      "### Training Dataset",
      "",
      `- Dataset: ${dataset ?? "not recorded"}`,
      `- Size: ${training.trainRows.toLocaleString("en-US")} training samples`,
      `- Columns: ${training.columns.map((c) => `\`${c}\``).join(", ")}`,
      "",
    );
    if (training.sampleRows.length > 0) {
      const cols = training.columns;
      md.push("Samples:", "", `| ${cols.join(" | ")} |`, `|${cols.map(() => ":--").join("|")}|`);
      for (const r of training.sampleRows)
        md.push(
          `| ${cols
            .map((c) =>
              String((r as Record<string, unknown>)[c] ?? "")
                .replace(/\|/g, "\\|")
                .replace(/\s+/g, " ")
                .slice(0, 200),
            )
            .join(" | ")} |`,
        );
      md.push("");
    }
    md.push(
      `- Loss: \`${training.loss.name}\` with these parameters:`,
      "",
      "```json",
      JSON.stringify(training.loss.config, null, 2),
      "```",
      "",
      "### Training Hyperparameters",
      "",
      ...Object.entries(training.hyperparameters).map(([k, v]) => `- \`${k}\`: ${fmt(v)}`),
      "",
      "### Training Logs",
      "",
      `- Steps: ${training.steps}; mean training loss ${fmt(training.trainLoss)}; ${fmt(training.seconds)} s`,
      training.best
        ? `- Best ${training.best.metric}: ${fmt(training.best.value)} at step ${training.best.step}`
        : "- No evaluation during training.",
      "",
    );
  } else {
    md.push(
      "No training summary (training_summary.json) was found in the folder; training data, loss and hyperparameters were not recorded.",
      "",
    );
  }
  const versions = training?.frameworkVersions ?? inputs.frameworkVersions ?? {};
  md.push("### Framework Versions", "", ...Object.entries(versions).map(([k, v]) => `- ${k}: ${v}`), "");
  md.push(
    "## Citation",
    "",
    "### BibTeX",
    "",
    "#### Sentence Transformers",
    "",
    "```bibtex",
    "@inproceedings{reimers-2019-sentence-bert,",
    '    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",',
    '    author = "Reimers, Nils and Gurevych, Iryna",',
    '    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",',
    '    month = "11",',
    '    year = "2019",',
    '    publisher = "Association for Computational Linguistics",',
    '    url = "https://arxiv.org/abs/1908.10084",',
    "}",
    "```",
  );
  if (training?.loss.name.includes("MultipleNegativesRanking")) {
    md.push(
      "",
      "#### MultipleNegativesRankingLoss",
      "",
      "```bibtex",
      "@misc{henderson2017efficient,",
      "    title={Efficient Natural Language Response Suggestion for Smart Reply},",
      "    author={Matthew Henderson and Rami Al-Rfou and Brian Strope and Yun-hsuan Sung and Laszlo Lukacs and Ruiqi Guo and Sanjiv Kumar and Balint Miklos and Ray Kurzweil},",
      "    year={2017},",
      "    eprint={1705.00652},",
      "    archivePrefix={arXiv},",
      "    primaryClass={cs.CL}",
      "}",
      "```",
    );
  }
  return `${yaml.join("\n")}\n\n${md.join("\n")}\n`;
}
