// A small world for the app's tests, laid out as the course writes it (runs/<dataset>/..., reports/), built in a
// few seconds: a 12-passage handbook with held-out questions, notebook 01's review sheet, the embedded offline
// model fine-tuned for a few steps (saved with its artefact manifest), and results.json rows with and without
// a "setting". One passage and one question carry HTML (<script>, <img onerror>) that must render as text.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeBeir } from "../src/data/beir";
import { exportForReview } from "../src/data/review";
import type { CorpusRow, PairRow } from "../src/data/types";
import { loadModel } from "../src/model/index";
import { MultipleNegativesRankingLoss } from "../src/train/losses/index";
import { train } from "../src/train/trainer";

export const XSS_TITLE = `Badge photos <img src=x onerror="window.__xss='title'">`;
export const XSS_TEXT = `Upload a photo. <script>window.__xss='text'</script> Photos are kept for one year.`;
export const XSS_QUESTION = `<img src=x onerror="window.__xss='question'"> how do badge photos work`;

const PASSAGES: [string, string, string][] = [
  [
    "pto-accrual",
    "Paid time off — Accrual",
    "Full-time employees accrue fifteen vacation days a year, credited every pay period.",
  ],
  [
    "pto-carryover",
    "Paid time off — Carryover",
    "Up to five unused vacation days carry over into the next calendar year; the rest expire.",
  ],
  [
    "sick-leave",
    "Sick leave",
    "Employees get ten paid sick days a year for illness, medical appointments or caring for family.",
  ],
  [
    "parental",
    "Parental leave",
    "Birth and adoptive parents receive sixteen weeks of paid parental leave within the first year.",
  ],
  ["remote", "Remote work", "You may work from home up to three days a week with your manager's approval."],
  [
    "expenses",
    "Travel expenses",
    "Submit travel receipts within thirty days; meals are reimbursed up to a daily limit of sixty dollars.",
  ],
  [
    "laptop",
    "IT equipment",
    "Every employee receives a laptop; report a lost or stolen laptop to the IT service desk at once.",
  ],
  ["password", "Passwords", "Passwords must have at least fourteen characters and are changed only when compromised."],
  [
    "benefits",
    "Health insurance",
    "Medical, dental and vision insurance start on the first day of the month after your start date.",
  ],
  [
    "retirement",
    "Retirement plan",
    "The company matches 401(k) contributions dollar for dollar up to four percent of salary.",
  ],
  ["badges", XSS_TITLE, XSS_TEXT],
  [
    "training",
    "Learning budget",
    "Each employee has a yearly learning budget of one thousand dollars for courses and books.",
  ],
];

export const QUESTIONS: { id: string; text: string; passage: string; split: "train" | "dev" | "test" }[] = [
  { id: "q1", text: "how many vacation days do I get", passage: "pto-accrual", split: "test" },
  { id: "q2", text: "can unused PTO roll over to next year", passage: "pto-carryover", split: "test" },
  { id: "q3", text: "paid days off when I am ill", passage: "sick-leave", split: "test" },
  { id: "q4", text: "how long is maternity leave", passage: "parental", split: "test" },
  { id: "q5", text: "working from home policy", passage: "remote", split: "test" },
  { id: "q6", text: "deadline for expense reports", passage: "expenses", split: "test" },
  { id: "q7", text: "I lost my computer what do I do", passage: "laptop", split: "test" },
  { id: "q8", text: "minimum password length", passage: "password", split: "dev" },
  { id: "q9", text: "when does health coverage begin", passage: "benefits", split: "train" },
  { id: "q10", text: "401k employer match", passage: "retirement", split: "train" },
  { id: "q11", text: XSS_QUESTION, passage: "badges", split: "train" },
  { id: "q12", text: "money for books and courses", passage: "training", split: "train" },
];

export const DATASET = "tiny-handbook";

export interface AppFixture {
  root: string;
  runsDir: string;
  reportsDir: string;
  datasetDir: string;
  sheet: string;
  corpus: CorpusRow[];
  pairs: PairRow[];
  tunedDir: string;
}

/** The review sheet's pairs: one generated question per passage (the XSS one included), then a duplicate. */
export function fixturePairs(corpus: readonly CorpusRow[]): PairRow[] {
  const rows: PairRow[] = corpus.map((c, i) => ({
    anchor: i === 10 ? XSS_QUESTION : `what does the handbook say about ${c.title.split(" — ").pop()?.toLowerCase()}`,
    positive: `${c.title}\n${c.text}`,
    positive_id: c._id,
    doc_id: c.doc_id,
    generator: i % 3 === 0 ? "llm:test-model" : "offline template generator",
    template: "says_about",
  }));
  rows.push({ ...rows[0], template: "repeat" }); // an exact duplicate: the quality filter flags it
  rows.push({ ...rows[1], anchor: "ok" }); // too short
  return rows;
}

export async function buildAppFixture(root: string, options: { tune?: boolean } = {}): Promise<AppFixture> {
  const runsDir = join(root, "runs");
  const reportsDir = join(root, "reports");
  const datasetDir = join(runsDir, DATASET);
  const corpus: CorpusRow[] = PASSAGES.map(([id, title, text]) => ({ _id: id, doc_id: id, title, text }));
  const dataDir = join(datasetDir, "data", "course-000000000001");
  const qrels: Record<string, { queryId: string; corpusId: string; score: number }[]> = {
    train: [],
    dev: [],
    test: [],
  };
  for (const q of QUESTIONS) qrels[q.split].push({ queryId: q.id, corpusId: q.passage, score: 1 });
  writeBeir(dataDir, { corpus, queries: QUESTIONS.map((q) => ({ _id: q.id, text: q.text })), qrels });
  writeFileSync(
    join(datasetDir, "course-data.json"),
    JSON.stringify({ path: "data/course-000000000001", key: "000000000001" }),
  );
  const pairs = fixturePairs(corpus);
  const sheet = join(datasetDir, "review", "sheet-0123456789ab.csv");
  exportForReview(pairs, sheet);

  const tunedFolder = join(datasetDir, "offline", "models", "mnrl-abcdef123456");
  const tunedDir = join(tunedFolder, "final");
  if (options.tune !== false) {
    const model = await loadModel("offline");
    // A deliberately strong, short run on the test questions themselves, so that rankings visibly change.
    const rows = QUESTIONS.map((q) => {
      const c = corpus.find((p) => p._id === q.passage) as CorpusRow;
      return { anchor: q.text, positive: `${c.title}\n${c.text}` };
    });
    await train(model, rows, {
      loss: new MultipleNegativesRankingLoss({ scale: 20 }),
      epochs: 3,
      batchSize: 6,
      learningRate: 0.05,
      warmupRatio: 0,
      seed: 1,
      progress: false,
    });
    await model.save(tunedDir);
    writeFileSync(
      join(tunedFolder, "artefact.json"),
      JSON.stringify({
        name: "models/mnrl",
        key: "abcdef123456",
        inputs: { data: "000000000001", base: "offline" },
        created: "2026-12-04T12:00:00.000Z",
        seconds: 1,
        verb: "trained",
      }),
    );
  }

  mkdirSync(reportsDir, { recursive: true });
  const ci = (estimate: number) => ({ estimate, low: estimate - 0.05, high: Math.min(1, estimate + 0.05) });
  const row = (system: string, model: string, ndcg: number, setting?: string) => ({
    dataset: DATASET,
    split: "test",
    system,
    model,
    queries: 7,
    metrics: { "accuracy@1": ci(ndcg - 0.1), "mrr@10": ci(ndcg - 0.05), "ndcg@10": ci(ndcg) },
    ...(setting ? { setting } : {}),
    updated: "2026-12-04T12:00:00.000Z",
  });
  writeFileSync(
    join(reportsDir, "results.json"),
    JSON.stringify({
      version: 1,
      results: [
        row("BM25", "-", 0.7),
        row("base", "offline (embedded default)", 0.55),
        row("fine-tuned", "offline (embedded default)", 0.6),
        row("BM25", "-", 0.6, "new questions"),
        row("fine-tuned <b>bold</b>", "offline (embedded default)", 0.8, "new questions"),
      ],
      comparisons: [],
      timings: [{ notebook: "01_synthetic_data", seconds: 12, finished: "2026-12-04T12:00:00.000Z", status: "ok" }],
    }),
  );
  writeFileSync(join(reportsDir, "01_synthetic_data.html"), "<!doctype html><title>01</title><p>exported notebook</p>");
  writeFileSync(join(root, "secret.txt"), "not to be served");
  return { root, runsDir, reportsDir, datasetDir, sheet, corpus, pairs, tunedDir };
}
