// Types for the parts of scripts/setup.mjs that tests use.
export const root: string;
export const KERNEL_NAME: string;
export function findJupyterPython(): string | undefined;
export function writeKernelspec(): string;
export function setup(argv?: string[]): { ok: boolean; python: string | undefined };
