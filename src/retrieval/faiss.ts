/**
 * Loads faiss-node lazily, once, inside try/catch: the library works without it (the plain
 * TypeScript exact search in ./exact-search takes over) and says which implementation it uses.
 * faiss-node's prebuilt binary comes from GitHub; where that is unreachable it must be built
 * against a system faiss (see environment.md).
 */
import type * as FaissNode from "faiss-node";

export type FaissModule = typeof FaissNode;

export interface FaissStatus {
  module: FaissModule | undefined;
  /** "faiss-node loaded" or why it could not be loaded. */
  reason: string;
}

let cached: FaissStatus | undefined;

/** faiss-node, or undefined with the reason; the result is cached for the process. */
export function loadFaiss(): FaissStatus {
  if (cached) return cached;
  try {
    const module = require("faiss-node") as FaissModule;
    const probe = new module.IndexFlatIP(2);
    probe.add([1, 0]);
    if (probe.search([1, 0], 1).labels[0] !== 0) throw new Error("self-test search returned a wrong label");
    cached = { module, reason: "faiss-node loaded" };
  } catch (err) {
    cached = {
      module: undefined,
      reason: `faiss-node not usable (${(err as Error).message.split("\n")[0]}); using the TypeScript exact search`,
    };
  }
  return cached;
}
