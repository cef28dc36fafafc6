/**
 * File writes every area shares: atomic file writes (temp file in the same folder, fsync, rename, so a
 * crash never leaves a half-written file and never destroys the previous one), an atomic folder swap,
 * and durable appends. Below every area (data, model, train, eval, retrieval): it imports nothing of them.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes `data` to `path` atomically: readers see the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
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
    throw err;
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
  if (hadOld) rmSync(old, { recursive: true, force: true });
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
