import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendJsonl, firstInvalidUtf8, parseJsonl, readJsonl, repairJsonlTail, writeJsonl } from "../src/data/jsonl";
import { rngFor } from "../src/random";

test("firstInvalidUtf8 agrees with the WHATWG decoder on random byte strings", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const rng = rngFor(1, "utf8");
  const alphabet = [
    0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff,
  ];
  for (let n = 0; n < 3000; n++) {
    const bytes = Uint8Array.from(
      { length: 1 + Math.floor(rng() * 8) },
      () => alphabet[Math.floor(rng() * alphabet.length)],
    );
    let valid = true;
    try {
      fatal.decode(bytes);
    } catch {
      valid = false;
    }
    const at = firstInvalidUtf8(bytes);
    assert.equal(at === bytes.length, valid, `bytes ${Buffer.from(bytes).toString("hex")}`);
    // Everything before the reported offset decodes.
    fatal.decode(bytes.subarray(0, at));
  }
});

test("parseJsonl: BOM, CRLF and blank lines are fine; a truncated tail is tolerated only when asked", () => {
  const text = '\ufeff{"a": 1}\r\n\r\n{"a": 2}\n{"a": 3, "b"';
  const tolerant = parseJsonl(Buffer.from(text), "f.jsonl", { tolerateTruncatedTail: true });
  assert.deepEqual(tolerant.records, [
    { line: 1, value: { a: 1 } },
    { line: 3, value: { a: 2 } },
  ]);
  assert.equal(tolerant.truncatedTail, true);
  assert.deepEqual(tolerant.skipped, [
    { file: "f.jsonl", line: 4, reason: "incomplete last line (an interrupted write); skipped" },
  ]);
  assert.throws(() => parseJsonl(Buffer.from(text), "f.jsonl"), /f\.jsonl line 4: malformed JSON/);
  const skipping = parseJsonl(Buffer.from('{"a": 1}\nnope\n{"a": 2}\n'), "g.jsonl", { onInvalid: "skip" });
  assert.equal(skipping.records.length, 2);
  assert.equal(skipping.skipped[0].line, 2);
});

test("writeJsonl is atomic (no temp file left) and appendJsonl + repairJsonlTail survive a torn write", () => {
  const dir = mkdtempSync(join(tmpdir(), "jsonl-"));
  const file = join(dir, "out.jsonl");
  writeJsonl(file, [{ x: "é" }, { x: 2 }]);
  assert.equal(readFileSync(file, "utf8"), '{"x":"é"}\n{"x":2}\n');
  assert.deepEqual(readdirSync(dir), ["out.jsonl"]);
  writeFileSync(file, readFileSync(file, "utf8") + '{"x": 3, "y');
  assert.equal(repairJsonlTail(file), "truncated");
  appendJsonl(file, [{ x: 4 }]);
  assert.deepEqual(
    readJsonl(file).records.map((r) => r.value.x),
    ["é", 2, 4],
  );
  writeFileSync(file, '{"x": 1}');
  assert.equal(repairJsonlTail(file), "terminated");
  assert.equal(readFileSync(file, "utf8"), '{"x": 1}\n');
});
