/**
 * The small numeric helpers every layer shares, each written once. Plain numbers and typed arrays, no tensors
 * (model/pooling.ts l2Normalize is the tensor counterpart of l2NormalizeRows, with the same formula).
 *
 *   mean(x)               = (1/n) sum_i x_i                                          NaN for no values
 *   sampleStd(x)          = sqrt(sum_i (x_i - mean)^2 / (n - 1))                     torch.std (Bessel); NaN for n < 2
 *   quantile(s, p)        = s[lo] + (h - lo) (s[lo + 1] - s[lo]),  h = (n - 1) p, lo = floor(h)
 *                           s sorted ascending; numpy.quantile's default ("linear"), torch.quantile; NaN for no values
 *   dot(a, b)             = sum_t a_t b_t
 *   l2NormalizeRows(x)    = x_i / max(||x_i||_2, 1e-12) for every row i              torch.nn.functional.normalize
 *                           (p=2, dim=1, eps=1e-12), sentence-transformers' Normalize module; a zero row stays zero
 */

/** The eps of torch.nn.functional.normalize: a row shorter than this is divided by it instead (zero stays zero). */
export const NORM_EPS = 1e-12;

/** Arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  return s / n;
}

/** Sample standard deviation (n - 1 in the denominator, as torch.std); NaN for fewer than two values. */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i] - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/** Quantile p (0..1) of values sorted ascending, by linear interpolation between order statistics. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Inner product of `dim` components of a (from aOffset) and b (from bOffset): rows of flat row-major arrays. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>, dim = a.length, aOffset = 0, bOffset = 0): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += a[aOffset + t] * b[bOffset + t];
  return s;
}

/** Scales every row of a flat row-major [rows, dim] array to unit L2 norm, in place; returns the array. */
export function l2NormalizeRows<T extends Float32Array | Float64Array>(data: T, dim: number): T {
  if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0)
    throw new Error(`l2NormalizeRows: ${data.length} values do not form rows of dim ${dim}.`);
  for (let o = 0; o < data.length; o += dim) {
    const norm = Math.max(Math.sqrt(dot(data, data, dim, o, o)), NORM_EPS);
    for (let t = o; t < o + dim; t++) data[t] /= norm;
  }
  return data;
}
