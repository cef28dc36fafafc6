// Unsupervised domain-adaptation pairs (heading -> passage, inverse cloze) from a corpus alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { domainAdaptationPairs, sectionHeading, splitSentences } from "../src/data/domain-pairs";
import type { CorpusDoc } from "../src/data/types";

const corpus = new Map<string, CorpusDoc>([
  [
    "hr-pto-01",
    {
      title: "Paid Time Off — Accrual",
      text: "You accrue 1.5 days a month. Unused days carry over. Ask your manager first.",
      docId: "hr-pto",
    },
  ],
  ["it-vpn-01", { title: "VPN", text: "Use the VPN on public Wi-Fi.", docId: "it-vpn" }],
]);

test("splitSentences and sectionHeading", () => {
  assert.deepEqual(splitSentences("You accrue 1.5 days a month. Unused days carry over. Ask HR first!  Then 2 more."), [
    "You accrue 1.5 days a month.",
    "Unused days carry over.",
    "Ask HR first!",
    "Then 2 more.",
  ]);
  assert.equal(sectionHeading("Paid Time Off — Accrual"), "Accrual");
  assert.equal(sectionHeading("VPN"), "VPN");
});

test("domainAdaptationPairs: heading -> passage and one inverse-cloze pair per passage, seeded", () => {
  const rows = domainAdaptationPairs(corpus, { seed: 7 });
  assert.equal(rows.length, 3); // two headings, one cloze pair (the VPN passage has a single sentence)
  assert.deepEqual(rows[0], {
    anchor: "Accrual",
    positive: corpus.get("hr-pto-01")!.text,
    positive_id: "hr-pto-01",
    doc_id: "hr-pto",
    generator: "unsupervised:title-passage",
  });
  const ict = rows.find((r) => r.generator === "unsupervised:ict")!;
  const sentences = splitSentences(corpus.get("hr-pto-01")!.text);
  assert.ok(sentences.includes(ict.anchor));
  assert.equal(ict.positive, sentences.filter((s) => s !== ict.anchor).join(" "));
  assert.deepEqual(domainAdaptationPairs(corpus, { seed: 7 }), rows);
  assert.equal(domainAdaptationPairs(corpus, { clozePerPassage: 3, titles: false }).length, 3);
  assert.throws(() => domainAdaptationPairs(corpus, { clozePerPassage: -1 }), /clozePerPassage -1/);
});
