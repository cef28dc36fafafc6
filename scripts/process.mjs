// What the npm entry points (scripts/*.mjs) share so that a stop reaches the process doing the work:
//   runChild(cmd, args)   runs a child that cannot live in this process (python, `node --test`), forwards
//                         SIGINT / SIGTERM / SIGHUP to it, and exits with its status (or dies of its signal);
//                         spawnForwarding is the same without the exit, for a step that is followed by more;
//   onParentExit(fn)      calls fn when the process that started this one is gone, even after `kill -9`
//                         (polls the parent id, as Jupyter's Python kernels do), so nothing runs on orphaned.
// A wrapper that waits with spawnSync cannot do either: SIGTERM kills it at once and the child runs on.
import { spawn } from "node:child_process";

export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Spawns `cmd args` (stdio inherited) and resolves with how it ended, `{code, signal}`. While it runs, a
 * SIGINT / SIGTERM / SIGHUP sent to this process is passed on to it, which decides how to stop; the child of
 * a terminal also receives Ctrl-C directly, so it must treat a repeated signal as the same request. When this
 * process's parent dies (kill -9 of npm or of the shell), the child gets SIGHUP, as from a closed terminal.
 */
export function spawnForwarding(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: "inherit", ...options });
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const forward = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on(signal, forward);
    return [signal, forward];
  });
  const stopWatching = onParentExit(() => child.kill("SIGHUP"));
  const done = () => {
    stopWatching();
    for (const [s, h] of handlers) process.off(s, h);
  };
  return new Promise((resolve, reject) => {
    child.on("error", (err) => {
      done();
      reject(new Error(`could not start ${cmd}: ${err.message}`));
    });
    child.on("exit", (code, signal) => {
      done();
      resolve({ code, signal });
    });
  });
}

/**
 * Ends this process as the child ended: its exit code, or death by the same signal (re-raised on itself).
 * Returns a promise that never settles, so that `await exitLike(...)` runs nothing after it.
 */
export function exitLike({ code, signal }) {
  if (!signal) process.exit(code ?? 1);
  // Ignored or handled elsewhere: still end, with the shell's code for "killed by signal".
  setTimeout(() => process.exit(128 + (signalNumber(signal) ?? 1)), 100);
  process.kill(process.pid, signal);
  return new Promise(() => {});
}

/** spawnForwarding, then exitLike: a wrapper whose exit status is its child's. */
export async function runChild(cmd, args, options = {}) {
  await exitLike(await spawnForwarding(cmd, args, options));
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal];
}

/**
 * Calls `fn` once when this process's parent exits (its parent id changes: the orphan is adopted by init
 * or a subreaper). Polls every `everyMs` on an unref'd timer, so it never keeps the process alive.
 * Returns a function that stops watching.
 */
export function onParentExit(fn, everyMs = 500) {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      fn();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
