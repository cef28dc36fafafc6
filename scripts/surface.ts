/**
 * The library's public surface: the names each src/<area>/index.ts exports, listed per area bottom to top, as the
 * README shows them between <!-- surface:begin --> and <!-- surface:end -->. Generated, so the list cannot drift:
 * test/structure.test.ts checks that the README block equals surfaceBlock() and that each area stays within its cap.
 *
 *   npm run surface              writes the block into README.md
 *   npm run surface -- --check   exits 1 when README.md's block differs (what the structure test asserts)
 *
 * Also the one home of the layer order (LAYERS), which the structure test's import checks use.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../src/files";

const ROOT = join(__dirname, "..");
const SRC = join(ROOT, "src");
const README = join(ROOT, "README.md");
const BEGIN = "<!-- surface:begin -->";
const END = "<!-- surface:end -->";

/**
 * Bottom to top; a folder (or a file directly in src/) may import only from its own layer or a lower one.
 * native/ sits below backend.ts: the backend owns the native kernels and turns them on when it picks wasm / cpu.
 */
export const LAYERS: readonly (readonly string[])[] = [
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
  ["reproduce"],
  ["course"],
  ["app"],
  ["cli"],
];

/** What each area's line of the list says it holds (an area without an entry gets none). */
const TAGLINES: Record<string, string> = {
  display: "rich output for notebook cells",
  data: "datasets, chunks, generated pairs, splits, review",
  model: "load, encode, save",
  retrieval: "retrievers",
  eval: "metrics, comparisons, tables, figures",
  train: "losses and the trainer",
  mining: "hard negatives and their report",
  rerank: "cross-encoder re-ranking",
  rag: "the model in LangChain.js, base vs fine-tuned contexts",
  cost: "measured costs, ROI, int8 vs fp32, Matryoshka dimensions, the decision guide",
  serve: "the embeddings API",
  publish: "the Hub and the model card",
  course: "the notebooks' helpers (and display's showPlot / showTable / showMarkdown, so one import serves)",
};

/** The .ts file a relative specifier names (tslab style: "./x" or "./x/index"). */
export function resolveSpecifier(from: string, spec: string): string | undefined {
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

export interface ExportedName {
  name: string;
  /** The file it comes from (`export { a } from "./x"`: ./x.ts); names declared in the index come from the index. */
  from: string;
  /** A type (interface, type alias, `type` re-export), listed on the area's `type` line. */
  type: boolean;
}

/** The names an index file exports (`export { a, type B as C } from "./x"`, `export type { D }`, declarations). */
export function exportedNames(index: string): ExportedName[] {
  const text = readFileSync(index, "utf8");
  const out: ExportedName[] = [];
  for (const m of text.matchAll(/^export\s+(type\s+)?\{([^}]*)\}(?:\s*from\s*"([^"]+)")?/gm)) {
    const from = m[3] ? (resolveSpecifier(index, m[3]) ?? m[3]) : index;
    for (const part of m[2].split(",")) {
      const item = part.trim();
      const name = item
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop();
      if (name) out.push({ name, from, type: m[1] !== undefined || item.startsWith("type ") });
    }
  }
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(const|let|function|class|interface|type|enum)\s+(\w+)/gm))
    out.push({ name: m[2], from: index, type: m[1] === "interface" || m[1] === "type" });
  return out;
}

/** The areas with an index file, bottom to top (LAYERS order), with the names each exports. */
export function publicSurface(): { area: string; names: ExportedName[] }[] {
  const areas = readdirSync(SRC).filter((d) => {
    try {
      return statSync(join(SRC, d, "index.ts")).isFile();
    } catch {
      return false;
    }
  });
  const layer = (area: string) => LAYERS.findIndex((l) => l.includes(area));
  return areas
    .sort((a, b) => layer(a) - layer(b) || a.localeCompare(b))
    .map((area) => ({ area, names: exportedNames(join(SRC, area, "index.ts")) }));
}

/** `head` then the items joined by ", ", wrapped before 118 columns; continuation lines start with `indent`. */
function wrap(head: string, items: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = head;
  for (const [i, item] of items.entries()) {
    const piece = `${item}${i < items.length - 1 ? "," : ""}`;
    if (line.length > head.length && `${line} ${piece}`.length > 118) {
      lines.push(line);
      line = indent + piece;
    } else line = line.length === head.length ? `${line}${piece}` : `${line} ${piece}`;
  }
  lines.push(line);
  return lines;
}

/** The README's block: every area's names (values, then types), in a ```ts fence, between the markers. */
export function surfaceBlock(): string {
  const surface = publicSurface();
  const total = surface.reduce((s, a) => s + a.names.length, 0);
  const lines = [
    BEGIN,
    `${total} names over ${surface.length} index files (generated by \`npm run surface\`):`,
    "",
    "```ts",
  ];
  for (const { area, names } of surface) {
    const tagline = TAGLINES[area];
    const head = `// ./src/${area}/index`;
    lines.push(tagline ? `${head.padEnd(Math.max(25, head.length + 1))}${tagline}` : head);
    const values = names.filter((n) => !n.type).map((n) => n.name);
    const types = names.filter((n) => n.type).map((n) => n.name);
    if (values.length > 0) lines.push(...wrap("", values, ""));
    if (types.length > 0) lines.push(...wrap("type ", types, "  "));
    if (names.length === 0) lines.push("// (nothing yet)");
  }
  lines.push("```", END);
  return lines.join("\n");
}

/** The block as README.md has it now (markers included), or undefined when the markers are missing. */
export function readmeSurfaceBlock(readme = readFileSync(README, "utf8")): string | undefined {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  return a >= 0 && b > a ? readme.slice(a, b + END.length) : undefined;
}

function main(): void {
  const readme = readFileSync(README, "utf8");
  const current = readmeSurfaceBlock(readme);
  if (current === undefined) throw new Error(`README.md has no ${BEGIN} ... ${END} block to fill.`);
  const block = surfaceBlock();
  if (process.argv.includes("--check")) {
    if (current !== block) {
      console.error("README.md's surface list differs from the index files: run `npm run surface`.");
      process.exitCode = 1;
    }
    return;
  }
  if (current === block) {
    console.log("README.md's surface list is up to date.");
    return;
  }
  writeFileAtomic(
    README,
    readme.replace(current, () => block),
  );
  console.log(`README.md: surface list rewritten (${publicSurface().reduce((s, a) => s + a.names.length, 0)} names).`);
}

if (require.main === module) main();
