/** Versions of the frameworks a model was trained / served with, for model cards and reports. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getConfig } from "../env";

function packageVersion(name: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(getConfig().repoRoot, "node_modules", name, "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version;
  } catch {
    return undefined;
  }
}

export function frameworkVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  try {
    const own = JSON.parse(readFileSync(join(getConfig().repoRoot, "package.json"), "utf8")) as {
      name: string;
      version: string;
    };
    out[own.name] = own.version;
  } catch {
    // no package.json next to src/ (installed elsewhere): leave it out
  }
  for (const name of ["@tensorflow/tfjs", "@tensorflow/tfjs-node", "@huggingface/transformers", "onnxruntime-node"]) {
    const v = packageVersion(name);
    if (v) out[name] = v;
  }
  return out;
}
