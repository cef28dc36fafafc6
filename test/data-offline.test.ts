import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addTypo,
  contractAbbreviations,
  expandAbbreviations,
  findAbbreviations,
  generateOffline,
  keyPhrases,
  layRewrite,
  OFFLINE_GENERATOR,
} from "../src/data/template-generator";
import { mulberry32 } from "../src/random";
import type { CorpusRow } from "../src/data/types";

test("abbreviations defined in a text are found when the initials match", () => {
  assert.deepEqual(
    findAbbreviations("Staff earn paid time off (PTO) monthly. Use single sign-on (SSO) and the portal (XYZ)."),
    { PTO: "paid time off", SSO: "single sign-on" },
  );
  assert.deepEqual(findAbbreviations("Cats with Feline Leukemia Virus (FeLV) shed it in saliva."), {
    FeLV: "feline leukemia virus",
  });
});

test("rewrites: expansion, contraction, lay words, typos", () => {
  const table = { PTO: "paid time off", WFH: "work from home" };
  assert.equal(
    expandAbbreviations("how much pto for WFH days? (not PTOX)", table),
    "how much paid time off for work from home days? (not PTOX)",
  );
  assert.equal(contractAbbreviations("Paid time off while I work from home", table), "PTO while I WFH");
  assert.equal(
    layRewrite("Reimbursement after termination", { reimbursement: "money back", termination: "firing" }),
    "money back after firing",
  );
  // mulberry32(1) starts 0.6270739405881613, 0.002735721180215478: word "hello" (only candidate), i = 1 + floor(0.0027 * 2) = 1.
  assert.equal(addTypo("say hello", mulberry32(1)), "say hlelo");
  assert.equal(addTypo("no long word", mulberry32(1)), "no long word");
});

test("key phrases: multi-word content phrases first, stopwords never", () => {
  const text =
    "The travel portal books flights. Use the travel portal for hotels; the travel portal checks per diem limits.";
  const phrases = keyPhrases(text, 3);
  assert.equal(phrases[0], "travel portal");
  assert.ok(
    phrases.every((p) => !/\b(the|for|use)\b/.test(p)),
    phrases.join(" | "),
  );
});

const chunks: CorpusRow[] = [
  {
    _id: "leave.md#0",
    doc_id: "leave.md",
    title: "Leave > Paid time off",
    text: "Full-time staff accrue paid time off (PTO) at 1.5 days per month. PTO requests go through the HR portal.",
  },
  {
    _id: "it.md#0",
    doc_id: "it.md",
    title: "IT > Sign-in",
    text: "Every company application requires single sign-on (SSO) and multi-factor authentication (MFA).",
  },
  {
    _id: "vet.md#0",
    doc_id: "vet.md",
    title: "Canine parvovirus",
    text: "Canine parvovirus causes vomiting and bloody diarrhea in puppies; vaccination prevents it.",
  },
];

test("generateOffline: N distinct labelled questions per chunk, deterministic per (seed, chunk)", () => {
  const rows = generateOffline(chunks, { questionsPerChunk: 4, seed: 5 });
  assert.equal(rows.length, 12);
  for (const c of chunks) {
    const mine = rows.filter((r) => r.positive_id === c._id);
    assert.equal(mine.length, 4);
    assert.equal(new Set(mine.map((r) => r.anchor.toLowerCase().replace(/\?$/, ""))).size, 4);
    for (const r of mine) {
      assert.equal(r.generator, OFFLINE_GENERATOR);
      assert.equal(r.doc_id, c.doc_id);
      assert.equal(r.positive, `${c.title}\n${c.text}`);
      assert.ok(r.anchor.split(" ").length >= 2 && r.anchor.length < 120, r.anchor);
    }
  }
  assert.deepEqual(generateOffline(chunks, { questionsPerChunk: 4, seed: 5 }), rows);
  // A chunk's questions do not depend on the other chunks or their order.
  assert.deepEqual(
    generateOffline([chunks[2], chunks[0]], { questionsPerChunk: 4, seed: 5 }).filter(
      (r) => r.positive_id === "leave.md#0",
    ),
    rows.filter((r) => r.positive_id === "leave.md#0"),
  );
  assert.notDeepEqual(
    generateOffline(chunks, { questionsPerChunk: 4, seed: 6 }).map((r) => r.anchor),
    rows.map((r) => r.anchor),
  );
});

test("rewrite rates of 1 apply the rewrites and record them", () => {
  const rows = generateOffline(chunks, { questionsPerChunk: 6, seed: 1, abbreviationRate: 1, layRate: 1, typoRate: 1 });
  const rewrites = new Set(rows.flatMap((r) => String(r.rewrites).split(",")).filter(Boolean));
  assert.ok(rewrites.has("typo") && rewrites.has("lay_words"), [...rewrites].join(","));
  assert.ok(rewrites.has("abbreviation_expanded") || rewrites.has("abbreviation_contracted"));
  const vet = rows.filter((r) => r.positive_id === "vet.md#0").map((r) => r.anchor.toLowerCase());
  // With layRate 1, "canine" never survives: it always becomes "dog".
  assert.ok(
    vet.every((q) => !q.includes("canine")),
    vet.join(" | "),
  );
});
