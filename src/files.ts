/**
 * File writes every area shares: atomic file writes (temp file in the same folder, fsync, rename, so a
 * crash never leaves a half-written file and never destroys the previous one), an atomic folder swap,
 * and durable appends. Below every area (data, model, train, eval, retrieval): it imports nothing of them.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** Writes `data` to `path` atomically: readers see the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  let existed = false;
  try {
    existed = statSync(path).isFile();
  } catch {
    // absent (or unreadable: the write below reports why)
  }
  if (!existed && existsSync(path))
    throw new Error(`${path} is a folder; give a file path to write to (a folder is never replaced).`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw saveError(err, "the file", path, existed);
  }
  cleanStaleTemporaries(path);
  const tmp = join(
    dir,
    `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  try {
    const fd = openSync(tmp, "w");
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw saveError(err, "the file", path, existed);
  }
}

/**
 * Puts the complete folder `tmp` at `target`, replacing a folder already there: the old one is set
 * aside first and put back if the move fails, so a crash leaves one whole folder (old or new), never a mix.
 */
export function replaceFolder(tmp: string, target: string): void {
  const old = join(dirname(target), `.${basename(target)}.old-${process.pid}-${Date.now().toString(36)}`);
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, old);
  try {
    renameSync(tmp, target);
  } catch (err) {
    if (hadOld) renameSync(old, target);
    throw err;
  }
  try {
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch {
    // The new folder is in place; a leftover old copy is removed by the next save (cleanStaleTemporaries).
  }
}

/** Appends text and flushes it to disk before returning (used for results that must survive a crash). */
export function appendDurable(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a");
  try {
    writeSync(fd, Buffer.from(text, "utf8"));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a write failed, for errors that come from outside the program (a full disk, a read-only mount, missing
 * permissions), with what to do about it. Other errors (bugs, bad arguments) are passed on unchanged.
 */
const IO_FAILURES: Record<string, { reason: string; fix: string }> = {
  ENOSPC: { reason: "no space left on the device", fix: "free some disk space, or save to another disk" },
  EDQUOT: { reason: "the disk quota is exceeded", fix: "free some space in your quota, or save elsewhere" },
  EROFS: { reason: "the file system is read-only", fix: "save to a writable location" },
  EACCES: { reason: "permission denied", fix: "check the folder's permissions, or save to a folder you own" },
  EPERM: { reason: "operation not permitted", fix: "check the folder's permissions, or save to a folder you own" },
  EIO: { reason: "an input/output error on the device", fix: "check the disk, or save to another disk" },
  EMFILE: { reason: "too many open files", fix: "close other programs' files, or raise the limit (ulimit -n)" },
  ENOTDIR: { reason: "a part of the path is a file, not a folder", fix: "save to another path" },
  EEXIST: { reason: "a file is in the way", fix: "save to another path" },
  ENAMETOOLONG: { reason: "the path is too long", fix: "save to a shorter path" },
};

/** An error of a save that failed for an outside reason; `code` is the underlying Node code (ENOSPC, ...). */
export class SaveError extends Error {
  readonly code: string;
  readonly target: string;
  constructor(message: string, code: string, target: string, cause: unknown) {
    super(message, { cause });
    this.name = "SaveError";
    this.code = code;
    this.target = target;
  }
}

/**
 * Wraps an outside-reason fs error of a save: what was being written, where, the reason, whether the previous
 * version at `target` is intact, and what to do. `previousIntact` is false only when nothing was at `target`.
 */
export function saveError(
  err: unknown,
  what: string,
  target: string,
  hadPrevious: boolean,
  previousNote?: string,
): unknown {
  const e = (err instanceof SaveError ? err.cause : err) as NodeJS.ErrnoException;
  if (!e || typeof e.code !== "string" || !(e.code in IO_FAILURES)) return err;
  const { reason, fix } = IO_FAILURES[e.code];
  const where = e.path && resolve(e.path) !== resolve(target) ? ` while writing ${e.path}` : "";
  const previous =
    previousNote ?? (hadPrevious ? `The previous version at ${target} is intact.` : `Nothing was left at ${target}.`);
  return new SaveError(
    `Saving ${what} to ${target} failed: ${reason} (${e.code})${where}. ${previous} To fix: ${fix}.`,
    e.code,
    target,
    e,
  );
}

/** False when no process with this id runs (a process we may not signal still counts as running). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A temporary older than this is stale even if a process with its id runs (the id was reused). */
const STALE_AFTER_MS = 24 * 3600 * 1000;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Removes the temporaries a killed save of `target` left beside it: `.<name>.tmp-<pid>-*` (a half-written new
 * version) and `.<name>.old-<pid>-*` (the previous version, set aside during the swap), plus writeFileAtomic's
 * `.<name>.<pid>.*.tmp`. Only names of this pattern whose process is gone (or that are over a day old) are
 * touched. If the save died between setting the old version aside and moving the new one in, `target` is missing
 * and the old version is put back instead of being deleted.
 */
export function cleanStaleTemporaries(target: string): string[] {
  const dir = dirname(target);
  const name = escapeRegExp(basename(target));
  const folderTemp = new RegExp(`^\\.${name}\\.(tmp|old)-(\\d+)-[0-9a-z]+$`);
  const fileTemp = new RegExp(`^\\.${name}\\.(\\d+)\\.[0-9a-z]+\\.tmp$`);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const olds: { path: string; mtime: number }[] = [];
  for (const entry of entries) {
    const m = folderTemp.exec(entry) ?? fileTemp.exec(entry);
    if (!m) continue;
    const pid = Number(m.length === 3 ? m[2] : m[1]);
    const path = join(dir, entry);
    let mtime: number;
    try {
      mtime = lstatSync(path).mtimeMs;
    } catch {
      continue;
    }
    if (processAlive(pid) && Date.now() - mtime < STALE_AFTER_MS) continue;
    if (m[1] === "old") olds.push({ path, mtime });
    else {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  olds.sort((a, b) => b.mtime - a.mtime);
  if (olds.length > 0 && !existsSync(target)) renameSync((olds.shift() as { path: string }).path, target);
  for (const o of olds) {
    rmSync(o.path, { recursive: true, force: true });
    removed.push(o.path);
  }
  return removed;
}

/** How long a lock file may stay empty (its writer between creating it and writing its pid) before it is stale. */
const LOCK_EMPTY_GRACE_MS = 2000;

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleepBuffer, 0, 0, ms);

export interface LockOptions {
  /**
   * How long to wait for a live holder of another process to release the lock (polling every 50 ms); 0 (default):
   * refuse at once. A lock this process holds is refused at once either way (waiting would never end).
   */
  waitMs?: number;
}

/**
 * The one file lock: `.<name>.lock` beside `target`, created exclusively and holding the holder's process id, so
 * that two saves or two trainings into one place, or two writers of one results file, never mix. A lock whose
 * process is gone (a writer killed with kill -9) is taken over at once; an empty one (its writer died between
 * creating it and writing its id) after 2 s. A live holder: refused, naming it, or waited for up to `waitMs`.
 * scripts/run_notebooks.py takes the same lock on results.json. Returns the function that releases it.
 */
export function lockTarget(target: string, what: string, options: LockOptions = {}): () => void {
  const lock = join(dirname(target), `.${basename(target)}.lock`);
  const waitMs = options.waitMs ?? 0;
  mkdirSync(dirname(target), { recursive: true });
  const t0 = Date.now();
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (err) {
        closeSync(fd);
        rmSync(lock, { force: true });
        throw err;
      }
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = lockOwner(lock);
      if (owner === "gone") continue; // released meanwhile
      if (owner === "stale") {
        rmSync(lock, { force: true });
        continue;
      }
      const who =
        owner === process.pid ? "this process" : owner === "starting" ? "another process" : `process ${owner}`;
      const waited = Date.now() - t0;
      if (owner === process.pid || waited >= waitMs)
        throw new Error(
          `${target} is being written by ${who} right now (${what}; lock ${lock})` +
            `${waited > 0 ? `, still after ${(waited / 1000).toFixed(0)} s` : ""}. Wait for it to finish, or write to ` +
            `another path${waitMs > 0 ? `; if nothing is writing it, remove ${lock}` : ""}.`,
        );
      sleepMs(50);
    }
  }
}

/** The holder of `lock`: its live process id, "starting" (empty, younger than the grace), "stale" or "gone". */
function lockOwner(lock: string): number | "starting" | "stale" | "gone" {
  let text: string;
  let age: number;
  try {
    age = Date.now() - statSync(lock).mtimeMs;
    text = readFileSync(lock, "utf8");
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : "stale";
  }
  if (text.trim() === "") return age > LOCK_EMPTY_GRACE_MS ? "stale" : "starting";
  const pid = Number.parseInt(text, 10);
  return processAlive(pid) ? pid : "stale";
}

/** Runs `fn` holding the lock of `target` (lockTarget), released however `fn` ends. */
export function withLock<T>(target: string, what: string, fn: () => T, options: LockOptions = {}): T {
  const release = lockTarget(target, what, options);
  try {
    return fn();
  } finally {
    release();
  }
}

export interface FolderTarget {
  /** What is saved, for messages: "the model", "the training output". */
  what: string;
  /** Replace the target even if it is a file or a folder this library did not write (default false). */
  overwrite?: boolean;
  /** True when `dir` (an existing, non-empty folder) is one this writer wrote, so replacing it loses nothing. */
  isOurs: (dir: string) => boolean;
  /** How "ours" is recognised, for the refusal message. */
  oursRule: string;
}

/**
 * Refuses a target that replacing would destroy user files in: an existing file, or a non-empty folder that
 * `isOurs` does not recognise, unless `overwrite` is set. Returns whether something is at the target.
 */
export function checkFolderTarget(target: string, options: FolderTarget): boolean {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw saveError(err, options.what, target, false);
  }
  if (options.overwrite) return true;
  const way = "Choose another path, or pass { overwrite: true } to replace it";
  if (!stat.isDirectory())
    throw new Error(`${target} is a file, not a folder; saving ${options.what} there would replace it. ${way}.`);
  const entries = readdirSync(target);
  if (entries.length === 0 || options.isOurs(target)) return true;
  const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? `, ... (${entries.length} entries)` : "");
  throw new Error(
    `${target} already exists and is not ${options.what} this library wrote (${options.oursRule}); it holds ${shown}, ` +
      `which saving would delete. ${way} and everything in it.`,
  );
}
