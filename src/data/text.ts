/**
 * Word-level text measures used by the quality filters and the offline generator: a word tokenizer
 * (Unicode letters and digits, lower-cased), word shingles and their Jaccard similarity
 * |A ∩ B| / |A ∪ B| (Broder 1997), and the longest run of consecutive words two texts share
 * (longest common substring over words, dynamic programming in O(|a|·|b|)).
 */

/** Lower-cased words: runs of letters / digits, keeping inner apostrophes and hyphens ("don't", "per-diem"). */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []).map((w) => w.replace(/’/g, "'"));
}

/** The words joined by single spaces: case, punctuation and spacing no longer matter. */
export function normalizeText(text: string): string {
  return words(text).join(" ");
}

/** Set of k-word shingles; texts shorter than k give one shingle of all their words. */
export function shingles(ws: readonly string[], k = 2): Set<string> {
  const out = new Set<string>();
  if (ws.length < k) {
    if (ws.length > 0) out.add(ws.join(" "));
    return out;
  }
  for (let i = 0; i + k <= ws.length; i++) out.add(ws.slice(i, i + k).join(" "));
  return out;
}

/** Jaccard similarity of two sets; 1 for two empty sets. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Length of the longest run of consecutive words that `a` and `b` share. */
export function longestCommonRun(a: readonly string[], b: readonly string[]): number {
  let best = 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : 0;
      if (cur[j] > best) best = cur[j];
    }
    [prev, cur] = [cur, prev];
    cur.fill(0);
  }
  return best;
}
