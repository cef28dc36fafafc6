// bench/lib/machine.ts: the CPU model and the ISA flags that pick the matrix kernels, read from /proc/cpuinfo, and
// the load averages the encode bench prints before and after its runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ISA_FLAGS, cpuInfo, loadAverages } from "../bench/lib/machine";

const EPYC = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx f16c fma avx2 bmi2 sha_ni

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu avx avx2 avx512f
`;

test("cpuInfo: model name and the ISA flags of the first CPU, in ISA_FLAGS order", () => {
  const info = cpuInfo(EPYC);
  assert.equal(info.model, "AMD EPYC 7B13");
  assert.deepEqual(info.flags, ["avx", "avx2", "fma", "f16c"]);
  const xeon = cpuInfo("model name\t: Intel Xeon\nflags\t: avx2 avx512f avx512_vnni avx_vnni amx_int8 avx512vnni_x\n");
  assert.deepEqual(xeon.flags, ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]);
  assert.ok(xeon.flags.every((f) => (ISA_FLAGS as readonly string[]).includes(f)));
});

test("cpuInfo without /proc/cpuinfo: the model from os.cpus(), no flags; loadAverages: three rounded numbers", () => {
  const info = cpuInfo("");
  assert.equal(typeof info.model, "string");
  assert.deepEqual(info.flags, []);
  const load = loadAverages();
  assert.equal(load.length, 3);
  for (const x of load) assert.ok(x >= 0 && Math.abs(x * 100 - Math.round(x * 100)) < 1e-6, `load ${x}`);
});
