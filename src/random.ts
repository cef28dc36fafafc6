/**
 * Seeded randomness for data preparation: mulberry32 (a 32-bit generator by Tommy Ettinger, public
 * domain) seeded through FNV-1a of a string, so that every random choice is reproducible from
 * (seed, what it is for), e.g. rngFor(42, "split") or rngFor(42, chunkId).
 */

/** FNV-1a 32-bit hash of a string (UTF-16 code units). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A generator of floats in [0, 1). */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream for one purpose: the same (seed, key) always gives the same sequence. */
export function rngFor(seed: number, key: string): Rng {
  return mulberry32(fnv1a(`${seed}\u0000${key}`));
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One element chosen uniformly. */
export function pick<T>(items: readonly T[], rng: Rng): T {
  if (items.length === 0) throw new RangeError("pick: empty list");
  return items[Math.floor(rng() * items.length)];
}
