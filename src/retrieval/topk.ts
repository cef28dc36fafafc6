/**
 * Top-k selection over a score array with a bounded min-heap: O(n log k) instead of a full sort.
 * Order: score descending, then index ascending (the earlier document wins a tie and is the one
 * kept at the cut-off), the rule stated in ./types.
 */

export interface TopK {
  /** Positions in the scored array, best first. */
  indices: Int32Array;
  scores: Float64Array;
}

/** `a` ranks below `b`: lower score, or the same score and a later position. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** The k best entries of scores[0..n) (n defaults to scores.length). k is clamped to n. */
export function topK(scores: ArrayLike<number>, k: number, n: number = scores.length): TopK {
  const size = Math.min(k, n);
  const hs = new Float64Array(size); // heap of the best `size` so far; the root is the worst of them
  const hi = new Int32Array(size);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (count < size) {
      // sift up
      let c = count++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(s, i, hs[p], hi[p])) break;
        hs[c] = hs[p];
        hi[c] = hi[p];
        c = p;
      }
      hs[c] = s;
      hi[c] = i;
    } else if (size > 0 && s > hs[0]) {
      // i is later than every kept index, so only a strictly higher score displaces the root
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= size) break;
        const r = l + 1;
        const m = r < size && worse(hs[r], hi[r], hs[l], hi[l]) ? r : l;
        if (!worse(hs[m], hi[m], s, i)) break;
        hs[c] = hs[m];
        hi[c] = hi[m];
        c = m;
      }
      hs[c] = s;
      hi[c] = i;
    }
  }
  const order = Array.from({ length: size }, (_, j) => j).sort((a, b) => hs[b] - hs[a] || hi[a] - hi[b]);
  const indices = new Int32Array(size);
  const out = new Float64Array(size);
  order.forEach((j, r) => {
    indices[r] = hi[j];
    out[r] = hs[j];
  });
  return { indices, scores: out };
}
