/**
 * Where the base model fails (notebook 2): the queries whose relevant passage ranks low, and the traits they share
 * (an abbreviation, little word overlap with the passage, a word no passage has, a very short query), against all
 * queries: a trait far more common among failures is what the model has not learned.
 */
import pl from "nodejs-polars";
import { DEFAULT_ABBREVIATIONS } from "../data/template-generator";
import type { CorpusRow, IRSplit } from "../data/types";
import type { IRResult } from "../eval/ir-evaluator";
import { tokenize } from "../retrieval/bm25";
import { short } from "./evaluation";

/** Queries whose first relevant passage ranks below `minRank` (or is not in the top 10), worst first, with the texts. */
export function failureCases(
  result: IRResult,
  split: IRSplit,
  options: { minRank?: number; count?: number } = {},
): pl.DataFrame {
  const minRank = options.minRank ?? 4;
  const failures = result.perQuery
    .filter((q) => q.firstRelevantRank === null || q.firstRelevantRank >= minRank)
    .sort((a, b) => (b.firstRelevantRank ?? 1e9) - (a.firstRelevantRank ?? 1e9))
    .slice(0, options.count ?? 8);
  const title = (id: string | undefined) => (id ? (split.corpus.get(id) as CorpusRow).title : "");
  return pl.DataFrame({
    query: failures.map((q) => q.query),
    "relevant passage": failures.map((q) =>
      short(`${title(q.relevant[0])}: ${(split.corpus.get(q.relevant[0]) as CorpusRow).text}`),
    ),
    "rank of relevant": failures.map((q) =>
      q.firstRelevantRank === null ? "not in top 10" : String(q.firstRelevantRank),
    ),
    "ranked first instead": failures.map((q) => title(q.hits[0]?.id)),
  });
}

/** Everyday words a handbook rarely uses (it says "your", not "my"): not counted as words missing from the corpus. */
const EVERYDAY = new Set("my me mine im ive got get gets getting happens happen ok okay pls please".split(" "));

const ABBREVIATIONS = new Set(Object.keys(DEFAULT_ABBREVIATIONS).map((a) => a.toLowerCase()));

const alnum = (w: string) => w.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * Abbreviations a text writes (lower-cased, letters and digits only): words of 2-8 characters with two or more
 * capitals ("DCFSA", "PTO", "FeLV") or mixing letters and digits ("W-4", "I-9", "401(k)", "2FA"). A query that
 * types one in lower case ("dcfsa limit", "w4", "i9") still uses the abbreviation.
 */
export function textAbbreviations(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/\s+/)) {
    const w = raw.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9)]+$/g, "");
    if (w.length < 2 || w.length > 8 || !/^[A-Za-z0-9][A-Za-z0-9()&/-]*$/.test(w)) continue;
    const caps = (w.match(/[A-Z]/g) ?? []).length;
    const letters = /[A-Za-z]/.test(w);
    const digits = /[0-9]/.test(w);
    if (caps >= 2 || (letters && digits)) out.add(alnum(w));
  }
  return out;
}

/**
 * Traits of a query against its relevant passage, the usual reasons a generic model misses:
 * - abbreviation: the query has an abbreviation, in any case: in the course's list, a 2-5 letter all-caps word,
 *   one the corpus writes (textAbbreviations: "dcfsa" for DCFSA, "w4" for W-4), or letters and digits mixed;
 * - paraphrase: fewer than 30% of its content words (stop words dropped) appear in the passage;
 * - word not in the corpus: a query word (besides everyday ones such as "my") found in no passage: a typo,
 *   slang, or a term the documents spell otherwise ("acct", "meds");
 * - short: three words or fewer.
 */
export function queryTraits(
  query: string,
  passage: string,
  vocabulary: ReadonlySet<string>,
  abbreviations: ReadonlySet<string> = textAbbreviations(passage),
): string[] {
  const traits: string[] = [];
  const raw = query.split(/[^A-Za-z0-9()'-]+/).filter(Boolean);
  const isAbbreviation = (w: string) => {
    const a = alnum(w);
    const plural = a.endsWith("s") ? a.slice(0, -1) : a;
    return (
      ABBREVIATIONS.has(a) ||
      ABBREVIATIONS.has(plural) ||
      /^[A-Z]{2,5}s?$/.test(w) ||
      abbreviations.has(a) ||
      abbreviations.has(plural) ||
      /^(?:[a-z]{1,3}[0-9]{1,3}|[0-9]{1,3}[a-z]{1,2}|[0-9]{3}[a-z])$/.test(a)
    );
  };
  if (raw.some(isAbbreviation)) traits.push("abbreviation");
  const q = tokenize(query);
  const p = new Set(tokenize(passage));
  if (q.length > 0 && q.filter((w) => p.has(w)).length / q.length < 0.3)
    traits.push("paraphrase (little word overlap)");
  if (q.some((w) => !vocabulary.has(w) && !EVERYDAY.has(w))) traits.push("word not in the corpus (typo, slang)");
  if (raw.length <= 3) traits.push("short (3 words or fewer)");
  return traits;
}

/**
 * How common each trait is among the failures (first relevant rank >= minRank or missing) and among all
 * queries, with Hit@1 of the queries that have it: a trait far more frequent among failures is what
 * the model has not learned.
 */
export function failureTraits(result: IRResult, split: IRSplit, options: { minRank?: number } = {}): pl.DataFrame {
  const minRank = options.minRank ?? 4;
  const vocabulary = new Set<string>();
  const abbreviations = new Set<string>();
  for (const d of split.corpus.values()) {
    for (const w of tokenize(`${d.title} ${d.text}`)) vocabulary.add(w);
    for (const a of textAbbreviations(`${d.title} ${d.text}`)) abbreviations.add(a);
  }
  const names = [
    "abbreviation",
    "paraphrase (little word overlap)",
    "word not in the corpus (typo, slang)",
    "short (3 words or fewer)",
  ];
  const stats = names.map(() => ({ failures: 0, all: 0, hits: 0 }));
  let failures = 0;
  for (const q of result.perQuery) {
    const passage = q.relevant
      .map((id) => {
        const d = split.corpus.get(id) as CorpusRow;
        return `${d.title} ${d.text}`;
      })
      .join(" ");
    const traits = queryTraits(q.query, passage, vocabulary, abbreviations);
    const failed = q.firstRelevantRank === null || q.firstRelevantRank >= minRank;
    if (failed) failures++;
    names.forEach((n, i) => {
      if (!traits.includes(n)) return;
      stats[i].all++;
      if (failed) stats[i].failures++;
      if (q.firstRelevantRank === 1) stats[i].hits++;
    });
  }
  const n = result.perQuery.length;
  return pl.DataFrame({
    trait: names,
    // Shares as text with three decimals: a number rounded to 3 would be printed with the table's 4 ("0.2340").
    "share of failures": stats.map((s) => (failures ? s.failures / failures : 0).toFixed(3)),
    "share of all queries": stats.map((s) => (s.all / n).toFixed(3)),
    "Hit@1 with the trait": stats.map((s) => (s.all ? s.hits / s.all : 0).toFixed(3)),
    queries: stats.map((s) => s.all),
  });
}
