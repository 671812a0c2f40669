/*
 * edgelake's one call into glibc's allocator: a fixed mmap threshold (mallopt M_MMAP_THRESHOLD).
 *
 * Why: glibc serves an allocation of at least the threshold with its own mmap and unmaps it on
 * free, and raises the threshold to the size of every such block freed (up to 32 MB). edgelake's
 * batch buffers — columns, 1 MiB JSON chunks, compressed bodies of 1–8 MB, allocated and freed by
 * the main thread, two workers and libuv's pool — push it up within seconds; from then on they come
 * from the threads' arenas, which keep what was freed, fragmented, for good. A threshold set
 * explicitly is never raised, so a large buffer's pages go back to the system when it is freed:
 * on a 10M-row enriched drain peak RSS fell by 35–50 MB at the same speed (bench/README.md). The
 * same as MALLOC_MMAP_THRESHOLD_ in the environment, which cannot be set from inside the process.
 *
 *   mmapThreshold(bytes) → true when set; false where the C library is not glibc (nothing to do)
 */
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value mmap_threshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double bytes = 0;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_double(env, argv[0], &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "mmapThreshold(bytes): bytes must be a number");
    return NULL;
  }
  /* glibc caps the threshold at HEAP_MAX_SIZE / 2 (32 MB on 64-bit) and refuses larger values. */
  if (!(bytes >= 0 && bytes <= 32 * 1024 * 1024)) {
    napi_throw_range_error(env, NULL, "mmapThreshold(bytes): bytes must be in [0, 32 MiB]");
    return NULL;
  }
#if defined(__GLIBC__)
  int ok = mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1;
#else
  int ok = 0;
#endif
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "mmapThreshold", NAPI_AUTO_LENGTH, mmap_threshold, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mmapThreshold", fn) != napi_ok) return NULL;
  return exports;
}
