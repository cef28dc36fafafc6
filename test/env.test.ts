import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ConfigError, findRepoRoot, getConfig, readConfig } from "../src/env";

const root = join(__dirname, "..");

test("repo root is found from src/", () => {
  assert.equal(findRepoRoot(join(root, "src", "notebook")), root);
  assert.throws(() => findRepoRoot("/"), /Cannot find the repository root/);
});

test("Hugging Face cache follows Python's defaults and overrides", () => {
  const c = readConfig({ HOME: "/home/u", HF_HOME: "/data/hf" });
  assert.equal(c.hfHome, "/data/hf");
  assert.equal(c.hfHubCache, "/data/hf/hub");
  assert.equal(readConfig({ HF_HOME: "/data/hf", HF_HUB_CACHE: "/fast/hub" }).hfHubCache, "/fast/hub");
  assert.equal(readConfig({ XDG_CACHE_HOME: "/xdg" }).hfHome, "/xdg/huggingface");
});

test("offline flags: HF_HUB_OFFLINE and COURSE_OFFLINE accept 1/true/yes/on", () => {
  assert.equal(readConfig({}).offline, false);
  assert.equal(readConfig({ HF_HUB_OFFLINE: "1" }).offline, true);
  assert.equal(readConfig({ COURSE_OFFLINE: "TRUE" }).offline, true);
  assert.equal(readConfig({ HF_HUB_OFFLINE: "0" }).offline, false);
});

test("token comes from HF_TOKEN, else from $HF_HOME/token", () => {
  const home = mkdtempSync(join(tmpdir(), "hf-"));
  assert.equal(readConfig({ HF_HOME: home }).hfToken, undefined);
  writeFileSync(join(home, "token"), "hf_from_file\n");
  assert.equal(readConfig({ HF_HOME: home }).hfToken, "hf_from_file");
  assert.equal(readConfig({ HF_HOME: home, HF_TOKEN: "hf_env" }).hfToken, "hf_env");
});

test("COURSE_BACKEND is validated with the accepted values in the message", () => {
  assert.equal(readConfig({ COURSE_BACKEND: "wasm" }).backend, "wasm");
  assert.equal(readConfig({ COURSE_BACKEND: "auto" }).backend, undefined);
  assert.throws(
    () => readConfig({ COURSE_BACKEND: "cuda" }).backend,
    /COURSE_BACKEND=cuda: expected one of auto, tensorflow, wasm, cpu/,
  );
});

test("model defaults to the embedded offline model; data and reports under the repo", () => {
  const c = readConfig({});
  assert.equal(c.model, "offline");
  assert.equal(c.dataDir, join(root, "data"));
  assert.equal(c.reportsDir, join(root, "reports"));
  assert.equal(readConfig({ COURSE_MODEL: "BAAI/bge-small-en-v1.5" }).model, "BAAI/bge-small-en-v1.5");
  assert.deepEqual(readConfig({ OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", COURSE_LLM_MODEL: "llama3.1" }).llm, {
    baseUrl: "http://127.0.0.1:11434/v1",
    apiKey: undefined,
    model: "llama3.1",
  });
});

test("a bad value fails only where its field is read, naming the variable, its value and what is allowed", () => {
  const c = readConfig({ COURSE_SEED: "forty-two", COURSE_BACKEND: "cuda", HF_HOME: "/data/hf" });
  assert.equal(c.hfHubCache, "/data/hf/hub");
  assert.equal(c.model, "offline");
  assert.throws(
    () => c.course.seed,
    (err: ConfigError) =>
      err instanceof ConfigError &&
      err.variable === "COURSE_SEED" &&
      err.value === "forty-two" &&
      err.message === "COURSE_SEED=forty-two: expected a whole number such as 42.",
  );
  assert.throws(() => c.backend, /COURSE_BACKEND=cuda: expected one of auto, tensorflow, wasm, cpu/);
  // Read when used: a later change to the environment shows.
  const env: NodeJS.ProcessEnv = {};
  const live = readConfig(env);
  assert.equal(live.course.seed, undefined);
  env.COURSE_SEED = "7";
  assert.equal(live.course.seed, 7);
  assert.equal(getConfig(), getConfig());
});

test("with bad COURSE_SEED and COURSE_BACKEND every module still imports; the call that needs one fails", () => {
  const script = `
    require("./src/course/index"); require("./src/cli/main"); require("./src/serve/index"); require("./src/rag/index");
    const { courseSetup } = require("./src/course/setup");
    const { initBackend } = require("./src/backend");
    Promise.resolve().then(() => initBackend()).then(() => console.log("no error"), (e) => console.log("backend: " + e.message));
    try { courseSetup({}); } catch (e) { console.log("setup: " + e.message); }
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, COURSE_SEED: "x1", COURSE_BACKEND: "cuda" },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /setup: COURSE_SEED=x1: expected a whole number such as 42\./);
  assert.match(r.stdout, /backend: COURSE_BACKEND=cuda: expected one of auto, tensorflow, wasm, cpu\./);
});
