// coursePlan: what notebooks 3 and 4 train for a model. The static offline model gets the whole ablation and four
// kinds of negatives in setting A; a Transformer on a CPU gets one variant per setting and four short runs in
// notebook 4 (in-batch and hard in each setting), unless COURSE_ABLATION=all asks for everything; a bad value of
// COURSE_ABLATION names the variable and the values it takes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { coursePlan } from "../src/course";
import { ConfigError, readConfig } from "../src/env";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import { TRANSFORMER_NEGATIVE_STEPS } from "../src/course/recipes";
import { MODEL_SHAPES, writeShapedModelFolder } from "./fixtures/shaped-model";

test("coursePlan: the static model trains the full plan, a Transformer the CPU plan, COURSE_ABLATION=all the full one", async () => {
  await initBackend();
  const offline = offlineModel("offline");
  const full = coursePlan(offline, { full: false });
  assert.equal(full.variants, "all");
  assert.deepEqual(full.negatives.questions, ["in-batch", "hard-no-margin", "hard", "semi-hard"]);
  assert.deepEqual(full.negatives.documents, ["in-batch", "hard"]);
  assert.equal(full.negativeSteps, undefined, "the static model runs notebook 3's steps");

  const dir = mkdtempSync(join(tmpdir(), "plan-"));
  try {
    writeShapedModelFolder(dir, MODEL_SHAPES["bert-tiny"]);
    const tiny = await loadModel(dir);
    const cpu = coursePlan(tiny, { full: false });
    assert.equal(cpu.variants, "first");
    assert.deepEqual(cpu.negatives, { questions: ["in-batch", "hard"], documents: ["in-batch", "hard"] });
    assert.equal(cpu.negativeSteps, TRANSFORMER_NEGATIVE_STEPS);
    const all = coursePlan(tiny, { full: true });
    assert.equal(all.variants, "all");
    assert.equal(all.negativeSteps, undefined);
    tiny.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("COURSE_ABLATION: auto or all; anything else names the variable", () => {
  assert.equal(readConfig({}).course.fullPlan, false);
  assert.equal(readConfig({ COURSE_ABLATION: "auto" }).course.fullPlan, false);
  assert.equal(readConfig({ COURSE_ABLATION: "ALL" }).course.fullPlan, true);
  assert.throws(
    () => readConfig({ COURSE_ABLATION: "everything" }).course.fullPlan,
    (err: ConfigError) =>
      err instanceof ConfigError && err.variable === "COURSE_ABLATION" && /auto .* or all/.test(err.message),
  );
});
