// The library's shape, checked: a folder imports only folders below it (README "The library in one screen"),
// no two files import each other (directly or round a loop), loading a model pulls in no training code, and the
// public surface (the names the src/<area>/index.ts files export) stays small enough to read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = join(__dirname, "..", "src");

/**
 * Bottom to top; a folder (or a file directly in src/) may import only from its own layer or a lower one.
 * native/ sits below backend.ts: the backend owns the native kernels and turns them on when it picks wasm / cpu.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["env.ts", "files.ts", "random.ts", "math.ts", "defaults.ts"],
  ["native"],
  ["backend.ts"],
  ["display"],
  ["data"],
  ["model"],
  ["retrieval"],
  ["eval"],
  ["train"],
  ["mining"],
  ["offline"],
  ["rerank"],
  ["rag"],
  ["cost"],
  ["serve"],
  ["publish"],
  ["course"],
  ["app"],
  ["cli"],
];

/** At most this many names over all src/<area>/index.ts files (250, plus 20 for src/rerank: issue 30). */
const MAX_PUBLIC_NAMES = 270;

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

/** The .ts file a relative specifier names (tslab style: "./x" or "./x/index"). */
function resolveSpecifier(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [`${base}.ts`, join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
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

/**
 * The names an index file exports, each with the file it comes from (`export { a, type B as C } from "./x"`);
 * names declared in the index itself come from the index.
 */
function exportedNames(index: string): { name: string; from: string }[] {
  const text = readFileSync(index, "utf8");
  const out: { name: string; from: string }[] = [];
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}(?:\s*from\s*"([^"]+)")?/gm)) {
    const from = m[2] ? (resolveSpecifier(index, m[2]) ?? m[2]) : index;
    for (const part of m[1].split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop();
      if (name) out.push({ name, from });
    }
  }
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:const|let|function|class|interface|type|enum)\s+(\w+)/gm))
    out.push({ name: m[1], from: index });
  return out;
}

test(`the public surface: no export *, one name per idea, at most ${MAX_PUBLIC_NAMES} names over all index files`, () => {
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
