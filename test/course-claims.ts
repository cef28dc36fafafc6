// Holds the course's prose to its results (test/course-prose.test.ts). Two kinds of claim:
//
// 1. A hand-written claim in a markdown cell, as an HTML comment (it does not render):
//      <!-- claim: fact generation.questionsPerChunk = 3 -->
//      <!-- claim when model=offline when dataset=policy-handbook: verdict test | fine-tuned vs BM25 = down -->
//    `fact KEY` is a fact a notebook recorded with nb.recordFact (results.json "facts"); `verdict SPLIT | CANDIDATE vs
//    BASELINE [METRIC]` is the paired comparison results.json holds for that split: "up" when its 95% interval
//    excludes 0 from below, "down" from above, else "within noise" (METRIC defaults to ndcg@10). `when KEY=VALUE`
//    limits the claim to runs of that dataset / model (the model as course.model spells it: "offline", a Hub id);
//    a claim whose conditions no recorded run meets is not applicable, one whose subject a matching run lacks fails.
// 2. A figure a code cell showed through nb.recordFact: `<span data-fact="KEY">TEXT</span>` in an output must be the
//    value recorded under KEY.
//
// To add a claim to a notebook: write the sentence, then the comment after it; record what it depends on with
// nb.recordFact in the cell that measures it (or rely on the comparisons notebooks already record).
import type { ComparisonRow, FactRow, ResultsFile } from "../src/course/results";

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { data?: Record<string, unknown>; text?: string | string[] }[];
}

export interface ClaimCheck {
  notebook: string;
  cell: number;
  claim: string;
  ok: boolean;
  why: string;
}

const text = (x: unknown): string => (Array.isArray(x) ? x.join("") : typeof x === "string" ? x : "");

/** The runs results.json knows, as (dataset, model spec) pairs from its facts. */
function runsOf(file: ResultsFile): { dataset: string; model: string }[] {
  const seen = new Map<string, { dataset: string; model: string }>();
  for (const f of file.facts ?? []) seen.set(`${f.dataset}\0${f.model}`, { dataset: f.dataset, model: f.model });
  return [...seen.values()];
}

/** A comparison's model is a label ("offline (embedded default)"); a run's is the spec ("offline"). */
const sameModel = (label: string, spec: string) => label === spec || label.startsWith(`${spec} (`);

function verdictOf(c: ComparisonRow, metric: string): string | undefined {
  const d = c.differences[metric];
  if (!d) return undefined;
  return d.low > 0 ? "up" : d.high < 0 ? "down" : "within noise";
}

/** The value of a claim's subject in one run, or undefined when the run did not record it. */
function subjectValue(file: ResultsFile, run: { dataset: string; model: string }, subject: string): string | undefined {
  const fact = /^fact\s+(\S+)$/.exec(subject);
  if (fact) {
    const f = (file.facts ?? []).find((x) => x.dataset === run.dataset && x.model === run.model && x.key === fact[1]);
    return f === undefined ? undefined : String(f.value);
  }
  const verdict = /^verdict\s+(\S+)\s*\|\s*(.+?)\s+vs\s+(.+?)(?:\s+\[(\S+)\])?$/.exec(subject);
  if (verdict) {
    const [, split, candidate, baseline, metric] = verdict;
    const c = file.comparisons.find(
      (x) =>
        x.dataset === run.dataset &&
        sameModel(x.model, run.model) &&
        x.split === split &&
        x.candidate === candidate &&
        x.baseline === baseline,
    );
    return c && verdictOf(c, metric ?? "ndcg@10");
  }
  throw new Error(`unknown claim subject "${subject}": use "fact KEY" or "verdict SPLIT | CANDIDATE vs BASELINE"`);
}

/** Checks one hand-written claim (the text inside `<!-- claim ... -->`) against every run it applies to. */
export function checkClaim(file: ResultsFile, claim: string): { ok: boolean; why: string } {
  const m = /^claim((?:\s+when\s+\w+=\S+)*)\s*:\s*(.+?)\s*=\s*(.+)$/.exec(claim.trim());
  if (!m) return { ok: false, why: `cannot read the claim (expected "claim [when k=v]: SUBJECT = VALUE")` };
  const [, whens, subject, expected] = m;
  const conditions = [...whens.matchAll(/when\s+(\w+)=(\S+)/g)].map((w) => [w[1], w[2]] as const);
  for (const [k] of conditions)
    if (k !== "dataset" && k !== "model") return { ok: false, why: `unknown condition "${k}" (dataset, model)` };
  const runs = runsOf(file).filter((r) => conditions.every(([k, v]) => r[k as "dataset" | "model"] === v));
  if (runs.length === 0)
    return conditions.length > 0
      ? { ok: true, why: "not applicable: no recorded run meets its conditions" }
      : { ok: false, why: "no recorded run to check it against" };
  const wrong: string[] = [];
  for (const run of runs) {
    const value = subjectValue(file, run, subject);
    if (value !== expected.trim())
      wrong.push(`${run.dataset} / ${run.model}: ${value === undefined ? "not recorded" : `"${value}"`}`);
  }
  return wrong.length === 0
    ? { ok: true, why: `holds in ${runs.length} run(s)` }
    : { ok: false, why: `says "${expected.trim()}", results say ${wrong.join("; ")}` };
}

/** Every claim of a notebook (markdown comments) and every figure shown through recordFact (output spans). */
export function checkNotebook(name: string, nb: { cells: Cell[] }, file: ResultsFile): ClaimCheck[] {
  const out: ClaimCheck[] = [];
  const facts: FactRow[] = file.facts ?? [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type === "markdown")
      for (const m of text(cell.source).matchAll(/<!--\s*(claim\b[\s\S]*?)-->/g)) {
        let r: { ok: boolean; why: string };
        try {
          r = checkClaim(file, m[1]);
        } catch (err) {
          r = { ok: false, why: (err as Error).message };
        }
        out.push({ notebook: name, cell: i, claim: m[1].trim(), ...r });
      }
    for (const o of cell.outputs ?? [])
      for (const value of [...Object.values(o.data ?? {}), o.text])
        for (const m of text(value).matchAll(/<span data-fact="([^"]+)">([^<]*)<\/span>/g)) {
          const recorded = facts.filter((f) => f.key === m[1]).map((f) => String(f.value));
          const ok = recorded.includes(m[2]);
          const why = ok
            ? "shown as recorded"
            : `shows "${m[2]}", recorded ${recorded.length ? recorded.map((v) => `"${v}"`).join(", ") : "nothing"}`;
          out.push({ notebook: name, cell: i, claim: `figure ${m[1]}`, ok, why });
        }
  });
  return out;
}
