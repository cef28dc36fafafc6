/*
 * A Node-API addon that computes float32 matrix products with the system BLAS (cblas_sgemm:
 * OpenBLAS on Linux, Accelerate on macOS). src/model/native-matmul.ts plugs it in as TensorFlow.js's
 * BatchMatMul kernel for the wasm and cpu backends, whose own products are 4-10x slower (see
 * bench/NOTES.md). Operands are Float32Array views, e.g. straight into the wasm heap: no copies.
 *
 *   sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB[, bias])
 *     for i < batch: C_i[m, n] = op(A_i) op(B_i) (+ bias[n] on every row), op(X) = X or X^T, row-major,
 *     A_i = a + i * strideA, B_i = b + i * strideB (stride 0 broadcasts), C_i = c + i * m * n
 *   threads() / setThreads(n): the BLAS thread count (OpenBLAS only; 0 elsewhere).
 *
 * Build: see buildNativeMatMul() in src/model/native-matmul.ts (cc -O2 -shared -fPIC ... -lopenblas).
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
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

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, Threads, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
