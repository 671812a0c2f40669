/*
 * edgelake's calls into glibc's allocator: a fixed mmap threshold and a fixed trim threshold
 * (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD).
 *
 * The mmap threshold: glibc serves an allocation of at least the threshold with its own mmap and
 * unmaps it on free, and raises the threshold to the size of every such block freed (up to 32 MB).
 * edgelake's batch buffers — columns, 1 MiB JSON chunks, compressed bodies of 1–8 MB, allocated
 * and freed by the main thread, two workers and libuv's pool — push it up within seconds; from
 * then on they come from the threads' arenas, which keep what was freed, fragmented, for good. A
 * threshold set explicitly is never raised, so a large buffer's pages go back to the system when
 * it is freed: on a 10M-row enriched drain peak RSS fell by 35–50 MB (bench/README.md).
 *
 * The trim threshold: setting either threshold stops glibc moving both, and the trim threshold
 * then stays at its 128 KiB default. A worker thread's arena gives the top of its heap back with
 * madvise(MADV_DONTNEED) whenever more than that is free there, which in a multi-threaded process
 * flushes every other core's TLB (an inter-processor interrupt each): on a 1M-row ingestion run,
 * 1,600 such calls and an eighth of all CPU samples in the kernel's TLB shootdown. A few MiB kept
 * free per arena removes nearly all of them (bench/README.md, eleventh pass).
 *
 * The same as MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ in the environment, which cannot
 * be set from inside the process.
 *
 *   mmapThreshold(bytes) → true when set; false where the C library is not glibc (nothing to do)
 *   trimThreshold(bytes) → the same, for the trim threshold
 *   churn(chunkBytes, chunks, rounds) → allocates `chunks` blocks, touches and frees them, `rounds`
 *     times, in the calling thread: test/malloc.test.ts's probe of the trim threshold, in C because
 *     V8 frees a buffer whenever its collector gets to it, and the probe needs the frees at once.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/*
 * Sets mallopt option `param` (glibc's M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) from the one argument,
 * a byte count in [0, max]; throws, naming the function and the range, when it is not one.
 * Returns true when glibc took it, false where the C library is not glibc.
 */
static napi_value set_threshold(napi_env env, napi_callback_info info, const char *what, double max, int param) {
  size_t argc = 1;
  napi_value argv[1];
  double bytes = 0;
  char message[96];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_double(env, argv[0], &bytes) != napi_ok) {
    snprintf(message, sizeof message, "%s(bytes): bytes must be a number", what);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  if (!(bytes >= 0 && bytes <= max)) {
    snprintf(message, sizeof message, "%s(bytes): bytes must be in [0, %.0f MiB]", what, max / (1024 * 1024));
    napi_throw_range_error(env, NULL, message);
    return NULL;
  }
#if defined(__GLIBC__)
  int ok = mallopt(param, (int)bytes) == 1;
#else
  (void)param;
  int ok = 0;
#endif
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

#if !defined(__GLIBC__)
#define M_MMAP_THRESHOLD 0
#define M_TRIM_THRESHOLD 0
#endif

static napi_value mmap_threshold(napi_env env, napi_callback_info info) {
  /* glibc caps the threshold at HEAP_MAX_SIZE / 2 (32 MB on 64-bit) and refuses larger values. */
  return set_threshold(env, info, "mmapThreshold", 32 * 1024 * 1024, M_MMAP_THRESHOLD);
}

static napi_value trim_threshold(napi_env env, napi_callback_info info) {
  /* mallopt takes an int; glibc's own dynamic threshold never passes 64 MiB. */
  return set_threshold(env, info, "trimThreshold", 64 * 1024 * 1024, M_TRIM_THRESHOLD);
}

static napi_value churn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t chunk_bytes, chunks, rounds;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_uint32(env, argv[0], &chunk_bytes) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &chunks) != napi_ok || napi_get_value_uint32(env, argv[2], &rounds) != napi_ok || chunks > 64 || chunk_bytes > (1u << 20)) {
    napi_throw_type_error(env, NULL, "churn(chunkBytes, chunks, rounds): numbers, chunkBytes ≤ 1 MiB, chunks ≤ 64");
    return NULL;
  }
  void *blocks[64];
  for (uint32_t r = 0; r < rounds; r++) {
    for (uint32_t i = 0; i < chunks; i++) {
      blocks[i] = malloc(chunk_bytes);
      if (blocks[i]) memset(blocks[i], 1, chunk_bytes);
    }
    for (uint32_t i = chunks; i-- > 0;) free(blocks[i]);
  }
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "mmapThreshold", NAPI_AUTO_LENGTH, mmap_threshold, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mmapThreshold", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "trimThreshold", NAPI_AUTO_LENGTH, trim_threshold, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trimThreshold", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "churn", NAPI_AUTO_LENGTH, churn, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "churn", fn) != napi_ok) return NULL;
  return exports;
}
