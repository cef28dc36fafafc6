// What each course notebook must show once executed: its tables (matched against their captions) and its
// charts (matched against their titles). test/slow/notebooks.test.ts checks the executed .ipynb against this
// and that headless Chromium draws every chart of the exported HTML. Notebooks not listed are only run.
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
      /^Course dataset \(data\/course-/,
    ],
    charts: [/^Tutorial triplets, .*: positive above negative for \d+ of 10$/, /^Lengths in /],
  },
  "02_baseline_evaluation": {
    tables: [
      /^Settings of this run$/,
      /test split \(\d+ questions\): mean \[95% CI\]$/,
      /^Failures of .* on the test split$/,
      /^Traits of failed questions/,
    ],
    charts: [/^Test split: BM25, .* and hybrid \(95% CI\)$/],
  },
  "03_mnrl_finetuning": {
    tables: [
      /^Settings of this run$/,
      /^Fine-tuning recipe for /,
      /^paired percentile bootstrap over \d+ queries/,
      /test split: every system so far, mean \[95% CI\]$/,
      /^Base vs fine-tuned \(.*\): top 3 passages$/,
    ],
    charts: [
      /^One batch of 8: cosine\(question i, passage j\)/,
      /^Training loss and dev NDCG@10, /,
      /^Fine-tuned − base on the test split, /,
    ],
  },
  "04_hard_negatives": {
    tables: [
      /^Candidates removed, per filter$/,
      /^Cosine scores: positives vs mined negatives$/,
      /^Suspected false negatives \(no margin\)$/,
      /^NDCG@10 on \d+ held-out queries, \d+ steps per run/,
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
      /^Answers from each model's top 3 passages \(/,
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
      /^Return on fine-tuning /,
      /^NDCG@10 on the test split against dimensions kept \(95% bootstrap CI\)/,
      /^Decision guide applied to .* \(test split, \d+ questions\)$/,
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
