// What each course notebook must show once executed: its tables (matched against their captions) and its
// charts (matched against their titles). test/slow/notebooks.test.ts checks the executed .ipynb against this
// and that headless Chromium draws every chart of the exported HTML. Notebooks not listed are only run.
import type { ResultsFile } from "../../src/course/results";

export interface NotebookExpectation {
  tables: RegExp[];
  charts: RegExp[];
}

export const EXPECTED: Record<string, NotebookExpectation> = {
  "01_synthetic_data": {
    tables: [
      /^Settings of this run$/,
      /ten tutorial triplets/,
      /^Corpus of /,
      /^LLM cost for \d+ passages/,
      /generated pairs \(\d+ in all, by /,
      /^What each filter removed$/,
      /^Review decisions read back$/,
      /^The decisions applied, and what they did$/,
      /^Course dataset \(data\/course-/,
    ],
    charts: [/^Tutorial triplets, .*: positive above negative for \d+ of 10$/, /^Lengths in /],
  },
  "02_baseline_evaluation": {
    tables: [
      /^Settings of this run$/,
      /test split \(\d+ questions\): mean and 95% CI$/,
      /^base − BM25, test split, paired 95% CI$/,
      /^Failures of .* on the test split$/,
      /^Traits of failed questions/,
    ],
    charts: [/^Test split: BM25, .* and hybrid \(95% CI\)$/],
  },
  "03_mnrl_finetuning": {
    tables: [
      /^Settings of this run$/,
      /^Each test set against its setting's training questions$/,
      /^MNRL loss of this batch$/,
      /^Course recipe for /,
      /^Training data ablation, .* \(NDCG@10, paired 95% CIs\)$/,
      /^NDCG@10 of each system, /,
      /^Base vs fine-tuned \(.*\): top 3$/,
    ],
    charts: [
      /^One batch of 8: cosine\(question i, passage j\)/,
      /^Training loss and dev NDCG@10, setting A, /,
      /^Fine-tuned − base, setting A test split, /,
    ],
  },
  "04_hard_negatives": {
    tables: [
      /^What each run trains on \(/,
      /^Candidates removed, per filter$/,
      /^Cosine scores: positives vs mined negatives$/,
      /^What each mining removed and kept, judged against the qrels$/,
      /^Five candidates per mining, closest to the positive first$/,
      /^A · new questions about your documents: NDCG@10 on \d+ test questions, \d+ steps per run$/,
      /^B · documents added later: NDCG@10 on \d+ test questions, \d+ steps per run$/,
    ],
    charts: [
      /^Scores of positives vs mined negatives \(/,
      /^Negatives compared: \d+ steps each, \d+ held-out queries \(/,
    ],
  },
  "05_rag_integration": {
    tables: [
      /^Settings of this run$/,
      /^Top 3 passages: base = .*, fine-tuned = /,
      /^Answers from each retriever's top 3 passages \(/,
      /rag_compare_report-.*\.csv \(first 8 of \d+ questions\)$/,
      /^Hit rate@3 on \d+ test questions \(/,
      /^Which questions changed$/,
    ],
    charts: [/^Answer passage in the prompt, by k \(\d+ test questions, /],
  },
  "06_cost_analysis": {
    tables: [
      /^Settings of this run$/,
      /^Measured on this machine, this run/,
      /^fp32 against int8 \(dtype "q8"\): fine-tuned /,
      /^Answer passage in the prompt \(\d+ questions, /,
      /^Return on fine-tuning /,
      /^The seed tutorial's ROI example, recomputed \(USD\)$/,
      /^NDCG@10 on the test split against dimensions kept \(95% bootstrap CI\)/,
      /^What to use, by setting: NDCG@10 \(/,
      /^Decision guide, setting A: .*\(\d+\).*, /,
    ],
    charts: [/^Cumulative cost/, /^Monthly cost against query volume$/, /^NDCG@10 and storage against dimension \(/],
  },
};

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
}

/** Table captions and chart titles in an executed notebook's outputs, in order. */
export function notebookDisplays(nb: { cells: { cell_type: string; outputs?: Output[] }[] }): {
  tables: string[];
  charts: string[];
} {
  const tables: string[] = [];
  const charts: string[] = [];
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      const html = out.data?.["text/html"];
      const text = Array.isArray(html) ? html.join("") : typeof html === "string" ? html : "";
      const plot = out.data?.["application/vnd.plotly.v1+json"] as
        | { layout?: { title?: { text?: string } | string } }
        | undefined;
      if (plot) {
        const t = plot.layout?.title;
        charts.push(typeof t === "string" ? t : (t?.text ?? ""));
      } else if (text.includes('<table class="course-table">')) {
        const m = /<caption>([\s\S]*?)<\/caption>/.exec(text);
        tables.push(
          m
            ? m[1]
                .replace(/&amp;/g, "&")
                .replace(/&lt;/g, "<")
                .replace(/&gt;/g, ">")
                .replace(/&quot;/g, '"')
                .replace(/&#39;/g, "'")
            : "",
        );
      }
    }
  }
  return { tables, charts };
}

/**
 * The issue-20 targets of the offline default (notebook 3's recipe) on a shipped dataset, checked on the numbers
 * the course run recorded in results.json. Returns one line per target with its measured numbers, and `ok`.
 *   A (new questions about your documents), independent queries: fine-tuned − base NDCG@10 >= +0.15 with the
 *     paired 95% CI's low end > 0, and fine-tuned >= BM25;
 *   B (documents added later): fine-tuned − base CI low > 0 on the test split and on the independent queries.
 */
export function courseTargets(file: ResultsFile, dataset: string): { line: string; ok: boolean }[] {
  const diff = (split: string) =>
    file.comparisons.find(
      (c) => c.dataset === dataset && c.split === split && c.baseline === "base" && c.candidate === "fine-tuned",
    );
  const value = (split: string, system: string) =>
    file.results.find((r) => r.dataset === dataset && r.split === split && r.system === system)?.metrics["ndcg@10"]
      ?.estimate;
  const fmt = (x: number | undefined) => (x === undefined ? "missing" : x.toFixed(3));
  const out: { line: string; ok: boolean }[] = [];
  const aInd = diff("questions-independent")?.differences["ndcg@10"];
  out.push({
    line: `${dataset} A independent: fine-tuned − base ${fmt(aInd?.estimate)} [${fmt(aInd?.low)}, ${fmt(aInd?.high)}] (target >= 0.150, low > 0)`,
    ok: aInd !== undefined && aInd.estimate >= 0.15 && aInd.low > 0,
  });
  const [tuned, bm25] = [value("questions-independent", "fine-tuned"), value("questions-independent", "BM25")];
  out.push({
    line: `${dataset} A independent: fine-tuned ${fmt(tuned)} vs BM25 ${fmt(bm25)} (target fine-tuned >= BM25)`,
    ok: tuned !== undefined && bm25 !== undefined && tuned >= bm25,
  });
  for (const split of ["test", "independent"]) {
    const d = diff(split)?.differences["ndcg@10"];
    out.push({
      line: `${dataset} B ${split}: fine-tuned − base ${fmt(d?.estimate)} [${fmt(d?.low)}, ${fmt(d?.high)}] (target low > 0)`,
      ok: d !== undefined && d.low > 0,
    });
  }
  return out;
}
