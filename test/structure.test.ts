// The library's shape, checked: a folder imports only folders below it (README "The library in one screen"),
// no two files import each other (directly or round a loop), loading a model pulls in no training code, and the
// public surface (the names the src/<area>/index.ts files export) stays small enough to read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { exportedNames, LAYERS, readmeSurfaceBlock, resolveSpecifier, surfaceBlock } from "../scripts/surface";

const SRC = join(__dirname, "..", "src");

/**
 * Per area, at most this many names in its index.ts (an area not listed here may export none): today's count, with
 * room where an issue adds names. Together with MAX_PUBLIC_NAMES: a name added is one found room for.
 */
const AREA_CAPS: Record<string, number> = {
  display: 5,
  data: 45, // 42 (leakTable from src/course) + room for the Hub datasets
  model: 12,
  retrieval: 14, // 6 + the vector stores (VectorStore, MetadataFilter, StoreMetadata, openStore, parseStoreSpec, storeTableName, syncCorpus)
  eval: 20, // + failureCases, failureTraits, sideBySide (src/eval/failures, from src/course)
  train: 23,
  mining: 12,
  rerank: 20, // the re-ranker issue's cross-encoder, its losses and the rerank helpers
  rag: 28, // + CrossEncoderReranker (the LangChain compressor), lanceDBVectorStore
  cost: 20,
  serve: 7,
  publish: 7,
  reproduce: 4, // loadHubDataset, listRecipes, reproduceTutorial, Recipe
  // Its count today (58 before notebooks 00-03 lost their failure, leak and side-by-side helpers); issue 29 aims at 35.
  course: 54,
};

/** At most this many names over all src/<area>/index.ts files. */
const MAX_PUBLIC_NAMES = 280;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Relative specifiers a file loads: import / export ... from, import(), require(); type-only imports included. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gms),
    ...text.matchAll(/^\s*import\s+"(\.{1,2}\/[^"]+)"/gm),
    ...text.matchAll(/\b(?:import|require)\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
  ].map((m) => m[1]);
  return [...new Set(specs)];
}

/** "model" for src/model/onnx/export.ts, "files.ts" for src/files.ts. */
function areaOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0];
}

function layerOf(area: string): number {
  return LAYERS.findIndex((layer) => layer.includes(area));
}

const files = sourceFiles(SRC);
const graph = new Map<string, string[]>(
  files.map((f) => [
    f,
    relativeImports(f)
      .map((s) => resolveSpecifier(f, s))
      .filter((t): t is string => t?.startsWith(SRC) === true),
  ]),
);
const rel = (f: string) => relative(SRC, f);

test("every relative import in src/ resolves to a file", () => {
  const broken = files.flatMap((f) =>
    relativeImports(f)
      .filter((s) => resolveSpecifier(f, s) === undefined)
      .map((s) => `${rel(f)}: "${s}"`),
  );
  assert.deepEqual(broken, []);
});

test("every area of src/ has a layer", () => {
  const areas = [...new Set(files.map(areaOf))];
  assert.deepEqual(
    areas.filter((a) => layerOf(a) < 0),
    [],
    "add the new folder to LAYERS here and to the README's layer list",
  );
});

test("imports point down: a folder imports only its own and lower layers; only the top layer imports course/", () => {
  const upward: string[] = [];
  for (const [from, targets] of graph)
    for (const to of targets) {
      const [a, b] = [areaOf(from), areaOf(to)];
      if (a !== b && layerOf(b) >= layerOf(a)) upward.push(`${rel(from)} -> ${rel(to)}`);
    }
  assert.deepEqual(upward, []);
});

test("no import cycle between files", () => {
  const state = new Map<string, "active" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    state.set(f, "active");
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === "active") cycles.push([...path.slice(path.indexOf(t)), t].map(rel).join(" -> "));
      else if (!state.has(t)) visit(t, [...path, t]);
    }
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});

test("loading src/model imports nothing from train/ or offline/ (the offline reader stays in model/)", () => {
  const seen = new Set<string>();
  const stack = files.filter((f) => areaOf(f) === "model");
  while (stack.length > 0) {
    const f = stack.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(graph.get(f) ?? []));
  }
  const reached = [...seen].filter((f) => ["train", "offline"].includes(areaOf(f))).map(rel);
  assert.deepEqual(reached, []);
});

test(`the public surface: no export *, one name per idea, each area within its cap, at most ${MAX_PUBLIC_NAMES} names`, () => {
  const indexes = readdirSync(SRC)
    .map((d) => join(SRC, d, "index.ts"))
    .filter((p) => files.includes(p));
  const sources = new Map<string, Set<string>>();
  let total = 0;
  for (const index of indexes) {
    assert.doesNotMatch(
      readFileSync(index, "utf8"),
      /^export\s+\*/m,
      `${rel(index)}: list the names instead of export *`,
    );
    const names = exportedNames(index);
    total += names.length;
    const area = areaOf(index);
    assert.ok(
      names.length <= (AREA_CAPS[area] ?? 0),
      `${rel(index)}: ${names.length} names, the cap is ${AREA_CAPS[area] ?? 0} (AREA_CAPS here)`,
    );
    for (const { name, from } of names) sources.set(name, (sources.get(name) ?? new Set()).add(rel(from)));
  }
  // The same name from two places would be two ideas under one name (a re-export of the same binding is fine).
  const clashes = [...sources].filter(([, from]) => from.size > 1).map(([n, from]) => `${n}: ${[...from].join(", ")}`);
  assert.deepEqual(clashes, []);
  assert.ok(
    total <= MAX_PUBLIC_NAMES,
    `${total} public names over ${indexes.length} index files (limit ${MAX_PUBLIC_NAMES})`,
  );
  assert.ok(total > 50, `only ${total} public names found: is exportedNames still reading the index files?`);
});

test("the trainer asks a loss through its interface: no loss class, table or name pattern in trainer, options, memory", () => {
  const lossClasses = sourceFiles(join(SRC, "train", "losses")).flatMap((f) =>
    [...readFileSync(f, "utf8").matchAll(/^export\s+class\s+(\w+)/gm)].map((m) => m[1]),
  );
  assert.ok(lossClasses.includes("MultipleNegativesRankingLoss"), `loss classes found: ${lossClasses.join(", ")}`);
  const problems: string[] = [];
  for (const name of ["trainer.ts", "options.ts", "memory.ts"]) {
    const file = join(SRC, "train", name);
    const text = readFileSync(file, "utf8");
    // Only the contract (losses/types.ts) may be imported from the losses, and only its types.
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"(\.\/losses\/[^"]+)"/gms))
      if (m[2] !== "./losses/types" || !m[1]) problems.push(`${name} imports ${m[0].replace(/\s+/g, " ")}`);
    // No class identity (instanceof / prototypes) on anything but Error, no test on a loss's name.
    for (const m of text.matchAll(/\binstanceof\s+(\w+)/g)) if (m[1] !== "Error") problems.push(`${name}: ${m[0]}`);
    for (const m of text.matchAll(/\.prototype\b|getPrototypeOf|\.constructor\b/g)) problems.push(`${name}: ${m[0]}`);
    for (const m of text.matchAll(/\bloss\w*\.name\s*(?:[!=]==?|\.(?:match|includes|startsWith|endsWith)\b)/gi))
      problems.push(`${name}: ${m[0]}`);
    for (const m of text.matchAll(/\/[^/\n]*(?:Negatives|Ranking|Loss)[^/\n]*\/[gimsuy]*\.(?:test|exec)\(/g))
      problems.push(`${name}: ${m[0]}`);
    // A loss class named in code (outside strings and comments) would be a table or a special case.
    const code = text
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "")
      .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
      .replace(/`(?:[^`\\]|\\.)*`/g, "``");
    for (const cls of lossClasses) if (new RegExp(`\\b${cls}\\b`).test(code)) problems.push(`${name} names ${cls}`);
  }
  assert.deepEqual(problems, [], "declare what the trainer needs on Loss (src/train/losses/types.ts) instead");
});

test("the README's surface list is the one the index files give (npm run surface writes it)", () => {
  assert.equal(readmeSurfaceBlock(), surfaceBlock(), "README.md's surface list is stale: run `npm run surface`");
});

/** At most this many lines in a file of src/, so that each file holds one concept a reader can take in. */
const MAX_FILE_LINES = 500;

test(`no file in src/ is over ${MAX_FILE_LINES} lines (split it along its concepts)`, () => {
  const lines = (f: string) => readFileSync(f, "utf8").split("\n").length - 1;
  const over = files.filter((f) => lines(f) > MAX_FILE_LINES).map((f) => `${rel(f)}: ${lines(f)} lines`);
  assert.deepEqual(over, []);
});
