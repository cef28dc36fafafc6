// Every course notebook runs top to bottom on the embedded offline default (this is `npm run course`
// without the HTML export), one test per notebook, in order: later notebooks build on earlier ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jupyterReady, root, runNotebooks } from "./helpers";

const notebooks = readdirSync(join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();
const out = mkdtempSync(join(tmpdir(), "course-"));

test("the course has notebooks", () => assert.ok(notebooks.length > 0));

for (const name of notebooks) {
  test(`notebook ${name} runs without errors`, async () => {
    const python = await jupyterReady();
    const res = runNotebooks(python, out, [join(root, "notebooks", name)], ["--no-html"]);
    assert.equal(res.status, 0, `${name} failed:\n${res.stderr.slice(-4000)}`);
  });
}
