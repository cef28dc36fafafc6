#!/usr/bin/env node
// The course's Jupyter kernel: tslab started with the repository root as working directory.
// tslab compiles cells relative to the working directory (its TypeScript rootDir), so with the root
// as cwd a cell in notebooks/ can `import { showPlot } from "./src/display/display"`, and paths such
// as "data/policy-handbook" mean the same in every notebook. kernel.json (written by npm run setup)
// runs: node scripts/kernel.cjs {connection_file}
//
// The kernel also ends when the process that started it is gone (the runner or the Notebook server, even
// after `kill -9`, which gives it no chance to shut its kernel down): like ipykernel's ParentPollerUnix, it
// checks every second whether its parent id changed (it was adopted by init or a subreaper) or whether
// JPY_PARENT_PID, which jupyter_client sets to its own id, still names a live process. A kernel holds the
// model and the datasets (gigabytes with a transformer), so an orphan must not outlive its runner.
const path = require("node:path");
const root = path.join(__dirname, "..");
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: node scripts/kernel.cjs <connection_file>");
  process.exit(2);
}
process.chdir(root);
watchParent();

process.argv = [
  process.argv[0],
  path.join(root, "node_modules", "tslab", "bin", "tslab"),
  "kernel",
  "--config-path",
  connectionFile,
];
require(path.join(root, "node_modules", "tslab", "dist", "main.js")).main();

function watchParent() {
  const parent = process.ppid;
  const jupyter = Number(process.env.JPY_PARENT_PID);
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return err.code === "EPERM"; // exists, owned by someone else
    }
  };
  const timer = setInterval(() => {
    const orphaned = process.ppid !== parent || (Number.isInteger(jupyter) && jupyter > 1 && !alive(jupyter));
    if (!orphaned) return;
    process.stderr.write(`[kernel] the process that started this kernel is gone; exiting.\n`);
    process.exit(0);
  }, 1000);
  timer.unref();
}
