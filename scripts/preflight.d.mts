// Types for the parts of scripts/preflight.mjs that tests use.
export interface Probes {
  missingPackages(): string[];
  faissLoads(): boolean;
  jupyterPython(): boolean;
  kernelspec(): boolean;
}
export type Need = "deps" | "faiss" | "kernel";
export const root: string;
export const SETUP_COMMAND: string;
export const probes: Probes;
export function missingNpmPackages(dir?: string): string[];
export function loads(moduleName: string, cwd?: string): { ok: boolean; why: string };
export function checkReady(needs: Need[], probes?: Probes): string[];
export function requireReady(needs: Need[], command: string, probes?: Probes): void;
