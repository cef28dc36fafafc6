/**
 * What a benchmark ran on, for its JSON line: the CPU's model and the instruction-set extensions that decide which
 * kernels ONNX Runtime (MLAS), PyTorch (oneDNN) and OpenBLAS pick, from /proc/cpuinfo; and the load average, which
 * says whether the figures were measured on a quiet machine.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

/** The flags that change the matrix kernels: AVX2/FMA, AVX-512 (foundation, VNNI, BF16), AVX-VNNI, AMX. */
export const ISA_FLAGS = [
  "avx",
  "avx2",
  "fma",
  "f16c",
  "avx512f",
  "avx512bw",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "avx_vnni",
  "amx_tile",
  "amx_int8",
] as const;

export interface CpuInfo {
  model: string;
  /** Of ISA_FLAGS, those the CPU reports, in that order. */
  flags: string[];
  /** Logical CPUs Node sees. */
  cpus: number;
}

/** The CPU's model name and ISA_FLAGS present (Linux /proc/cpuinfo; elsewhere the model from os.cpus(), no flags). */
export function cpuInfo(cpuinfo = readCpuinfo()): CpuInfo {
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? "";
  const field = (name: string) => first.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const have = new Set((field("flags") ?? field("Features") ?? "").split(/\s+/));
  return {
    model: field("model name") ?? cpus()[0]?.model ?? "unknown",
    flags: ISA_FLAGS.filter((f) => have.has(f)),
    cpus: cpus().length,
  };
}

function readCpuinfo(): string {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}

/** os.loadavg() rounded: the 1, 5 and 15 minute load averages. */
export function loadAverages(): [number, number, number] {
  const [a, b, c] = loadavg().map((x) => Math.round(100 * x) / 100);
  return [a, b, c];
}
