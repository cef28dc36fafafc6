/**
 * The offline template generator: questions for chunks without an LLM, so that notebook 1 runs
 * anywhere. Every row it makes says so in its `generator` column ("offline template generator"),
 * with the template and the rewrites used, so nobody mistakes it for LLM or human data.
 *
 * For each chunk it picks subjects (abbreviations the chunk defines as "long form (ABBR)" or uses
 * from the abbreviation table, the last heading of its title, frequent content-word phrases), puts
 * them into question templates, then rewrites some questions the way people type them: abbreviation
 * expansion / contraction ("PTO" <-> "paid time off"), lay words for jargon ("reimbursement" ->
 * "money back"), and light typos (two neighbouring letters swapped). Deterministic: the random
 * stream of a chunk depends only on (seed, chunk id), not on the order of the chunks.
 */
import { passageText } from "./beir";
import { rngFor, shuffled, type Rng } from "../random";
import type { CorpusRow, PairRow } from "./types";
import { DEFAULT_SEED } from "../defaults";

export const OFFLINE_GENERATOR = "offline template generator";

/** Abbreviation -> long form; used both ways. Extend or replace it with OfflineOptions.abbreviations. */
export const DEFAULT_ABBREVIATIONS: Readonly<Record<string, string>> = {
  PTO: "paid time off",
  WFH: "work from home",
  NDA: "non-disclosure agreement",
  SSO: "single sign-on",
  MFA: "multi-factor authentication",
  "2FA": "two-factor authentication",
  HR: "human resources",
  HSA: "health savings account",
  FSA: "flexible spending account",
  VPN: "virtual private network",
  FMLA: "family and medical leave",
  PIP: "performance improvement plan",
  OOO: "out of office",
  COBRA: "continued health coverage",
  EAP: "employee assistance program",
  ID: "identification",
  NSAID: "non-steroidal anti-inflammatory drug",
  FeLV: "feline leukemia virus",
  FIV: "feline immunodeficiency virus",
  FIP: "feline infectious peritonitis",
  CBC: "complete blood count",
  GI: "gastrointestinal",
  UTI: "urinary tract infection",
};

/** Jargon -> the word an employee or pet owner would type. */
export const DEFAULT_LAY_WORDS: Readonly<Record<string, string>> = {
  reimbursement: "money back",
  reimbursed: "paid back",
  reimburse: "pay back",
  remuneration: "pay",
  compensation: "pay",
  terminate: "fire",
  termination: "firing",
  commence: "start",
  eligible: "allowed",
  eligibility: "who can get",
  accrue: "earn",
  accrual: "build up",
  dependents: "family",
  dependent: "kid",
  expenditure: "spending",
  purchase: "buy",
  prohibited: "not allowed",
  mandatory: "required",
  approximately: "about",
  equipment: "gear",
  authentication: "login check",
  credentials: "password",
  physician: "doctor",
  veterinarian: "vet",
  canine: "dog",
  feline: "cat",
  administer: "give",
  medication: "meds",
  vaccination: "shots",
  gastrointestinal: "stomach",
  emesis: "throwing up",
  pruritus: "itching",
  lethargy: "tiredness",
  anorexia: "not eating",
  pyrexia: "fever",
};

const STOPWORDS = new Set(
  (
    "a an and are as at be been being but by can could do does for from had has have if in into is it its may " +
    "might must no not of on or our per should so such than that the their them then there these they this " +
    "those to up was we were what when where which while who will with within without would you your yours " +
    "all any each every more most other some only also after before over under about between during through " +
    "than too very just one two three four five six seven eight nine ten use used using need needs get gets " +
    "year years month months week weeks day days time times plus include includes including new same " +
    "off ahead done right back down out away still even well much many less least first last next often usually " +
    "always never once twice make makes made take takes taken give gives given keep keeps call calls ask asks " +
    "tell go goes going come comes see sees let lets put puts want wants like"
  ).split(" "),
);

/**
 * A question template. `needs`: a question that presumes something of its passage ("who qualifies", "is there a
 * limit", "do i need approval") is only asked of a passage that says something about it; asked of any passage it
 * reads like nonsense ("who qualifies for screening provider" of an onboarding passage) and pairs a question with
 * a passage that does not answer it.
 */
type Template = { name: string; make: (subject: string, topic: string) => string; needs?: RegExp };

const TEMPLATES: readonly Template[] = [
  { name: "what_is", make: (s) => `what is ${s}` },
  { name: "how_does_work", make: (s) => `how does ${s} work` },
  { name: "rules_for", make: (s) => `rules for ${s}` },
  { name: "policy", make: (s) => `${s} policy` },
  { name: "tell_me", make: (s) => `tell me about ${s}` },
  { name: "who_qualifies", make: (s) => `who qualifies for ${s}`, needs: /\b(eligib|qualif|entitled)/i },
  { name: "approval", make: (s) => `do i need approval for ${s}`, needs: /\b(approv|authori[sz]|sign[- ]off)/i },
  { name: "know_about", make: (s) => `what should i know about ${s}` },
  { name: "limit", make: (s) => `is there a limit on ${s}`, needs: /\b(limit|maximum|max|up to|at most|cap)\b|\$\d/i },
  { name: "where_info", make: (s) => `where can i find info on ${s}` },
  {
    name: "in_topic",
    make: (s, t) => (t && !t.includes(s) && !s.includes(t) ? `${s} in ${t}` : `question about ${s}`),
  },
  { name: "how_to", make: (s) => `how do i handle ${s}` },
];

const ABBREVIATION_TEMPLATES: readonly Template[] = [
  { name: "abbr_meaning", make: (s) => `what does ${s} mean` },
  { name: "abbr_rules", make: (s) => `${s} rules` },
  { name: "abbr_how", make: (s) => `how does ${s} work here` },
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** "long form (ABBR)" pairs defined in a text, where the long form's initials spell the abbreviation. */
export function findAbbreviations(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of text.matchAll(/\(([A-Z][A-Za-z0-9]{1,6})\)/g)) {
    const abbr = m[1];
    // The capitals spell the initials: PTO, and FeLV for "feline leukemia virus".
    const letters = abbr.replace(/[^A-Z]/g, "").toLowerCase();
    if (letters.length < 2) continue;
    const before = text.slice(0, m.index).trimEnd().split(/\s+/);
    // Take as many preceding words as needed for their initials (hyphen parts count) to cover the letters.
    for (let n = 1; n <= Math.min(6, before.length); n++) {
      const phrase = before.slice(before.length - n);
      const initials = phrase
        .flatMap((w) => w.split("-"))
        .map((w) => w[0]?.toLowerCase() ?? "")
        .join("");
      if (initials === letters) {
        found[abbr] = phrase
          .join(" ")
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, "");
        break;
      }
    }
  }
  return found;
}

/** Replaces abbreviations by their long forms (whole words, any case). */
export function expandAbbreviations(text: string, table: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [abbr, long] of Object.entries(table))
    out = out.replace(new RegExp(`(?<![\\w-])${escapeRegExp(abbr)}(?![\\w-])`, "gi"), long);
  return out;
}

/** Replaces long forms by their abbreviations (whole words, any case). */
export function contractAbbreviations(text: string, table: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [abbr, long] of Object.entries(table))
    out = out.replace(new RegExp(`(?<![\\w-])${escapeRegExp(long)}(?![\\w-])`, "gi"), abbr);
  return out;
}

/** Replaces jargon by lay words (whole words, any case). */
export function layRewrite(text: string, lay: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [term, plain] of Object.entries(lay))
    out = out.replace(new RegExp(`(?<![\\w-])${escapeRegExp(term)}(?![\\w-])`, "gi"), plain);
  return out;
}

/** Swaps two neighbouring inner letters of one word of >= 5 letters (a typing slip); unchanged if none. */
export function addTypo(text: string, rng: Rng): string {
  const candidates = [...text.matchAll(/[a-z]{5,}/g)];
  if (candidates.length === 0) return text;
  const m = candidates[Math.floor(rng() * candidates.length)];
  const w = m[0];
  const i = 1 + Math.floor(rng() * (w.length - 3));
  const typo = w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
  return text.slice(0, m.index) + typo + text.slice((m.index as number) + w.length);
}

/** Frequent content-word phrases (1-3 words, no stopwords, not crossing punctuation), best first. */
export function keyPhrases(text: string, max = 5): string[] {
  const freq = new Map<string, number>();
  const wordFreq = new Map<string, number>();
  const clauses = text.toLowerCase().split(/[.,;:!?()"\n—–]+/);
  const runs: string[][] = [];
  for (const clause of clauses) {
    let run: string[] = [];
    for (const w of clause.split(/\s+/)) {
      const clean = w.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
      if (clean.length >= 3 && /^[a-z][a-z-]*$/.test(clean) && !STOPWORDS.has(clean)) {
        run.push(clean);
        wordFreq.set(clean, (wordFreq.get(clean) ?? 0) + 1);
      } else {
        if (run.length > 0) runs.push(run);
        run = [];
      }
    }
    if (run.length > 0) runs.push(run);
  }
  // A whole run between stopwords / punctuation ("waiting area") reads as a phrase; a cut-off part
  // of a longer run ("dog-only waiting" of "dog-only waiting area") does not.
  const whole = new Set<string>();
  for (const run of runs) {
    if (run.length <= 3) whole.add(run.join(" "));
    for (let n = 1; n <= 3; n++) {
      for (let i = 0; i + n <= run.length; i++) {
        const phrase = run.slice(i, i + n).join(" ");
        freq.set(phrase, (freq.get(phrase) ?? 0) + 1);
      }
    }
  }
  // Score: how often the phrase and its words occur; two-word phrases read most like a subject.
  const scored = [...freq].map(([p, f]) => {
    const ws = p.split(" ");
    const wordScore = ws.reduce((s, w) => s + (wordFreq.get(w) ?? 0), 0) / ws.length;
    return {
      p,
      score:
        f * (ws.length === 2 ? 1.5 : 1) + wordScore * 0.5 + (ws.length > 1 && f > 1 ? 1 : 0) + (whole.has(p) ? 2 : 0),
    };
  });
  // Multi-word phrases first: a lone word ("card", "change") is rarely a subject someone asks about.
  const multi = (p: string) => (p.includes(" ") ? 1 : 0);
  scored.sort((a, b) => multi(b.p) - multi(a.p) || b.score - a.score || a.p.localeCompare(b.p));
  const out: string[] = [];
  for (const { p } of scored) {
    if (out.some((q) => q.includes(p) || p.includes(q))) continue;
    out.push(p);
    if (out.length >= max) break;
  }
  return out;
}

export interface OfflineOptions {
  /** Questions per chunk (default 3). */
  questionsPerChunk?: number;
  /** Default DEFAULT_SEED = 42. */
  seed?: number;
  /** Added to (and overriding) DEFAULT_ABBREVIATIONS; abbreviations a chunk defines are added too. */
  abbreviations?: Record<string, string>;
  /** Added to (and overriding) DEFAULT_LAY_WORDS. */
  layWords?: Record<string, string>;
  /** Chance of each rewrite per question (defaults 0.5, 0.5, 0.15). */
  abbreviationRate?: number;
  layRate?: number;
  typoRate?: number;
}

/** The topic a title names: its last heading ("Leave > Carry-over" -> "carry-over"). */
function topicOf(title: string): string {
  const last = title.split(/\s+(?:>|—|–|-|:)\s+/).pop() ?? "";
  return last
    .toLowerCase()
    .replace(/\([^)]*\)/g, "")
    .replace(/[^a-z0-9 '-]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Questions for every chunk from templates and rewrites; rows labelled OFFLINE_GENERATOR. */
export function generateOffline(chunks: readonly CorpusRow[], options: OfflineOptions = {}): PairRow[] {
  const n = options.questionsPerChunk ?? 3;
  const seed = options.seed ?? DEFAULT_SEED;
  const lay = { ...DEFAULT_LAY_WORDS, ...options.layWords };
  const rows: PairRow[] = [];
  for (const chunk of chunks) {
    const rng = rngFor(seed, chunk._id);
    const source = `${chunk.title}\n${chunk.text}`;
    const defined = findAbbreviations(source);
    const table: Record<string, string> = { ...DEFAULT_ABBREVIATIONS, ...options.abbreviations, ...defined };
    const used = Object.keys(table).filter((a) => new RegExp(`(?<![\\w-])${escapeRegExp(a)}(?![\\w-])`).test(source));
    const topic = topicOf(chunk.title);
    // Subjects most specific to this chunk first: its heading, abbreviations it defines, its phrases,
    // then abbreviations it only uses (those recur across chunks and make ambiguous questions).
    const own = Object.keys(defined);
    const subjects: { text: string; abbreviation: boolean }[] = [
      ...(topic ? [{ text: topic, abbreviation: false }] : []),
      ...own.map((a) => ({ text: a, abbreviation: true })),
      ...keyPhrases(chunk.text).map((p) => ({ text: p, abbreviation: false })),
      ...shuffled(
        used.filter((a) => !own.includes(a)),
        rng,
      )
        .slice(0, 1)
        .map((a) => ({ text: a, abbreviation: true })),
    ];
    if (subjects.length === 0) continue;
    const made = new Set<string>();
    for (let attempt = 0; attempt < n * 12 && made.size < n; attempt++) {
      const subject = subjects[Math.floor(rng() * Math.min(subjects.length, 3 + attempt))];
      const templates = (subject.abbreviation ? [...ABBREVIATION_TEMPLATES, ...TEMPLATES] : TEMPLATES).filter(
        (t) => !t.needs || t.needs.test(chunk.text),
      );
      const template = templates[Math.floor(rng() * templates.length)];
      let q = template.make(subject.text, topic);
      const rewrites: string[] = [];
      if (rng() < (options.abbreviationRate ?? 0.5)) {
        const swapped =
          subject.abbreviation || rng() < 0.5 ? expandAbbreviations(q, table) : contractAbbreviations(q, table);
        if (swapped !== q) rewrites.push(subject.abbreviation ? "abbreviation_expanded" : "abbreviation_contracted");
        q = swapped;
      }
      if (rng() < (options.layRate ?? 0.5)) {
        const plain = layRewrite(q, lay);
        if (plain !== q) rewrites.push("lay_words");
        q = plain;
      }
      q = rng() < 0.6 ? q.toLowerCase() : q;
      if (rng() < (options.typoRate ?? 0.15)) {
        const slipped = addTypo(q, rng);
        if (slipped !== q) rewrites.push("typo");
        q = slipped;
      }
      if (rng() < 0.4) q += "?";
      const key = q
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, " ")
        .trim();
      if (made.has(key)) continue;
      made.add(key);
      rows.push({
        anchor: q,
        positive: passageText(chunk),
        positive_id: chunk._id,
        doc_id: chunk.doc_id,
        generator: OFFLINE_GENERATOR,
        template: template.name,
        rewrites: rewrites.join(","),
      });
    }
  }
  return rows;
}
