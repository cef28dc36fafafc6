/*
 * A Node-API addon that computes float32 matrix products with the system BLAS (cblas_sgemm:
 * OpenBLAS on Linux, Accelerate on macOS). src/native/kernels.ts plugs it in as TensorFlow.js's
 * BatchMatMul kernel for the wasm and cpu backends, whose own products are 4-10x slower (see
 * bench/NOTES.md). Operands are Float32Array views, e.g. straight into the wasm heap: no copies.
 *
 *   sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB[, bias])
 *     for i < batch: C_i[m, n] = op(A_i) op(B_i) (+ bias[n] on every row), op(X) = X or X^T, row-major,
 *     A_i = a + i * strideA, B_i = b + i * strideB (stride 0 broadcasts), C_i = c + i * m * n
 *   threads() / setThreads(n): the BLAS thread count (OpenBLAS only; 0 elsewhere).
 *
 * And the two element-wise steps of a Transformer layer that tfjs-wasm runs as 5-9 separate passes
 * over memory, fused here into one (they cost about a third of a forward pass otherwise):
 *   gelu(x, out):                      out = 0.5 x (1 + erf(x / sqrt 2))          (exact GELU)
 *   layerNorm(x, gamma, beta, out, eps): per row of length gamma.length,
 *                                       out = gamma (x - mean) / sqrt(var + eps) + beta (biased var)
 *   gatherRows(table, ids, out, dim):   out row i = table row ids[i] (an embedding lookup; tfjs-wasm's
 *                                       gather takes 25.7 ms for 1280 rows of 384 floats)
 *
 * Build: buildNativeMatMul() in src/native/build.ts (cc -O3 -fno-trapping-math -shared -fPIC ... -lopenblas -lm).
 */
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

static napi_value fail(napi_env env, const char* msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_f32(napi_env env, napi_value v, float** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_float32_array) return 0;
  *data = (float*)ptr;
  return 1;
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 11) {
    return fail(env, "native-matmul sgemm: expected 11 or 12 arguments (a, b, c, batch, m, n, k, transA, transB, strideA, strideB[, bias])");
  }
  float* bias = NULL;
  size_t lbias = 0;
  if (argc == 12) {
    napi_valuetype t;
    napi_typeof(env, argv[11], &t);
    if (t != napi_undefined && t != napi_null && !get_f32(env, argv[11], &bias, &lbias)) {
      return fail(env, "native-matmul sgemm: bias must be a Float32Array");
    }
  }
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!get_f32(env, argv[0], &a, &la) || !get_f32(env, argv[1], &b, &lb) || !get_f32(env, argv[2], &c, &lc)) {
    return fail(env, "native-matmul sgemm: a, b and c must be Float32Arrays");
  }
  int64_t v[8];
  for (int i = 0; i < 8; i++) {
    if (i == 4 || i == 5) {
      bool flag;
      if (napi_get_value_bool(env, argv[3 + i], &flag) != napi_ok) return fail(env, "native-matmul sgemm: transA/transB must be booleans");
      v[i] = flag;
    } else if (napi_get_value_int64(env, argv[3 + i], &v[i]) != napi_ok || v[i] < 0) {
      return fail(env, "native-matmul sgemm: batch, m, n, k and strides must be non-negative integers");
    }
  }
  int64_t batch = v[0], m = v[1], n = v[2], k = v[3], transA = v[4], transB = v[5], strideA = v[6], strideB = v[7];
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return fail(env, "native-matmul sgemm: dimension too large for BLAS");
  /* Bounds: the last batch item must end inside each array. */
  if (batch > 0 && ((size_t)((batch - 1) * strideA + m * k) > la || (size_t)((batch - 1) * strideB + k * n) > lb ||
                    (size_t)(batch * m * n) > lc)) {
    return fail(env, "native-matmul sgemm: an operand is shorter than batch, m, n, k and the strides require");
  }
  if (bias != NULL && (int64_t)lbias != n) return fail(env, "native-matmul sgemm: bias must hold n values");
  int lda = transA ? (int)m : (int)k;
  int ldb = transB ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    float* ci = c + i * m * n;
    if (bias != NULL) {
      /* C starts as the bias on every row; sgemm then adds the product (beta = 1). */
      for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) ci[r * n + j] = bias[j];
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                1.0f, a + i * strideA, lda, b + i * strideB, ldb, bias != NULL ? 1.0f : 0.0f, ci, (int)n);
  }
  return NULL;
}

static napi_value Threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef __APPLE__
  napi_create_int32(env, 0, &out);
#else
  napi_create_int32(env, openblas_get_num_threads(), &out);
#endif
  return out;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return fail(env, "native-matmul setThreads: expected a positive integer");
#ifndef __APPLE__
  openblas_set_num_threads(n);
#endif
  return NULL;
}

/*
 * erf for float32 as a rational function (the odd/even minimax polynomials Eigen and TensorFlow use
 * for float erf), clamped to [-4, 4] where erf is +-1 in float32. Max abs error 4.2e-7 against the
 * double-precision libm erf on [-8, 8] (measured); no branches or calls, so the loop vectorizes.
 */
static inline float erf_float(float a) {
  float x = a < 4.f ? a : 4.f;
  x = x > -4.f ? x : -4.f;
  float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return x * p / q;
}

static napi_value Gelu(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  float *x, *out;
  size_t n, nout;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !get_f32(env, argv[0], &x, &n) ||
      !get_f32(env, argv[1], &out, &nout) || nout != n) {
    return fail(env, "native gelu: expected (x, out), two Float32Arrays of the same length");
  }
  for (size_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + erf_float(x[i] * 0.70710678118654752f));
  return NULL;
}

/* Sum of v[0..n) with 8 independent float accumulators (vectorizes without -ffast-math). */
static inline float sum8(const float* v, size_t n, float shift, int squared) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) {
      float d = v[j + l] - shift;
      acc[l] += squared ? d * d : d;
    }
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; j++) {
    float d = v[j] - shift;
    s += squared ? d * d : d;
  }
  return s;
}

static napi_value LayerNorm(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  float *x, *gamma, *beta, *out;
  size_t n, h, hb, nout;
  double eps;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !get_f32(env, argv[0], &x, &n) ||
      !get_f32(env, argv[1], &gamma, &h) || !get_f32(env, argv[2], &beta, &hb) || !get_f32(env, argv[3], &out, &nout) ||
      napi_get_value_double(env, argv[4], &eps) != napi_ok || h == 0 || hb != h || nout != n || n % h != 0) {
    return fail(env, "native layerNorm: expected (x, gamma, beta, out, eps) with x and out of rows * gamma.length values");
  }
  for (size_t r = 0; r < n / h; r++) {
    const float* xr = x + r * h;
    float* yr = out + r * h;
    float mean = sum8(xr, h, 0.f, 0) / (float)h;
    float var = sum8(xr, h, mean, 1) / (float)h; /* two-pass: no cancellation */
    float inv = (float)(1.0 / sqrt((double)var + eps));
    for (size_t j = 0; j < h; j++) yr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
  }
  return NULL;
}

static napi_value GatherRows(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  float *table, *out;
  size_t lt, lout, nids;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* idsPtr;
  int64_t dim;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || !get_f32(env, argv[0], &table, &lt) ||
      napi_get_typedarray_info(env, argv[1], &type, &nids, &idsPtr, &buffer, &offset) != napi_ok || type != napi_int32_array ||
      !get_f32(env, argv[2], &out, &lout) || napi_get_value_int64(env, argv[3], &dim) != napi_ok || dim <= 0 ||
      lout != nids * (size_t)dim || lt % (size_t)dim != 0) {
    return fail(env, "native gatherRows: expected (table Float32Array, ids Int32Array, out Float32Array of ids.length * dim, dim)");
  }
  const int32_t* ids = (const int32_t*)idsPtr;
  size_t rows = lt / (size_t)dim;
  for (size_t i = 0; i < nids; i++) {
    if (ids[i] < 0 || (size_t)ids[i] >= rows) return fail(env, "native gatherRows: an id is outside the table");
    memcpy(out + i * dim, table + (size_t)ids[i] * dim, (size_t)dim * sizeof(float));
  }
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, Threads, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"gelu", NULL, Gelu, NULL, NULL, NULL, napi_default, NULL},
      {"layerNorm", NULL, LayerNorm, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, GatherRows, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
