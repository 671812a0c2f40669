/*
 * edgelake's binding to ISA-L's igzip (Intel's Intelligent Storage Acceleration Library, Debian
 * package libisal2): one gzip member built from chunks, synchronously on the calling thread.
 *
 * Why: gzip level 1 is the largest single cost of the row stages (≈ 3.5 CPU-s of ≈ 11 per 1M rows
 * through Node's zlib); igzip's level 1 compresses the same JSON Lines ≈ 4× faster to the same
 * size. The bytes differ from zlib's, the text inside does not: any gzip reader (Auto Loader,
 * zcat, Node) reads the same records. Only what JS cannot do is here; src/encode/igzip.ts holds
 * the API and the fallback to zlib when this addon was not built.
 *
 *   create(level 0–3)              → stream (an external; freed with it)
 *   deflate(stream, bytes, final)  → Buffer: the compressed bytes this call produced (final: the
 *                                    member's end, gzip trailer included; the stream is done)
 */
#include <isa-l/igzip_lib.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A stream's native memory (≈ 70 KB of ISA-L state, its level buffer and the output scratch) is
 * freed as soon as the member ends, not when the garbage collector finalizes the external: a
 * worker makes a few members a batch, and V8 does not see this memory (it is only told of it).
 */
typedef struct {
  struct isal_zstream *z;
  uint8_t *level_buf;
  uint8_t *out;   /* scratch for one call's output, kept between calls */
  size_t out_cap;
  int64_t accounted; /* bytes reported to V8 with napi_adjust_external_memory */
  int done;
} Stream;

#define THROW(env, msg)                      \
  do {                                       \
    napi_throw_error((env), NULL, (msg));    \
    return NULL;                             \
  } while (0)

#define CHECK(env, call, msg)                \
  do {                                       \
    if ((call) != napi_ok) THROW(env, msg);  \
  } while (0)

/* Frees everything but the Stream itself and tells V8 it is gone. */
static void release(napi_env env, Stream *s) {
  free(s->z);
  free(s->level_buf);
  free(s->out);
  s->z = NULL;
  s->level_buf = NULL;
  s->out = NULL;
  s->out_cap = 0;
  if (s->accounted != 0 && env != NULL) {
    int64_t now;
    napi_adjust_external_memory(env, -s->accounted, &now);
  }
  s->accounted = 0;
}

static void account(napi_env env, Stream *s, int64_t bytes) {
  int64_t now;
  if (napi_adjust_external_memory(env, bytes, &now) == napi_ok) s->accounted += bytes;
}

/* No napi call in here (it may run during garbage collection): a member that ended, the usual
 * case, has given everything back already; one abandoned midway leaves V8's count a little high. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Stream *s = data;
  release(NULL, s);
  free(s);
}

static const uint32_t LEVEL_BUF[4] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};

static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "igzip.create: bad call");
  uint32_t level = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &level) != napi_ok || level > 3) THROW(env, "igzip.create: level must be an integer 0-3");
  Stream *s = calloc(1, sizeof(Stream));
  if (!s) THROW(env, "igzip.create: out of memory");
  s->z = malloc(sizeof(struct isal_zstream));
  s->level_buf = LEVEL_BUF[level] > 0 ? malloc(LEVEL_BUF[level]) : NULL;
  if (!s->z || (LEVEL_BUF[level] > 0 && !s->level_buf)) {
    release(NULL, s);
    free(s);
    THROW(env, "igzip.create: out of memory");
  }
  isal_deflate_init(s->z);
  s->z->level = level;
  s->z->gzip_flag = IGZIP_GZIP;
  s->z->flush = NO_FLUSH;
  s->z->level_buf = s->level_buf;
  s->z->level_buf_size = LEVEL_BUF[level];
  napi_value result;
  if (napi_create_external(env, s, finalize, NULL, &result) != napi_ok) {
    release(NULL, s);
    free(s);
    THROW(env, "igzip.create: cannot wrap the stream");
  }
  account(env, s, (int64_t)(sizeof(struct isal_zstream) + LEVEL_BUF[level]));
  return result;
}

static napi_value deflate(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "igzip.deflate: bad call");
  if (argc < 3) THROW(env, "igzip.deflate: needs (stream, bytes, final)");
  Stream *s = NULL;
  CHECK(env, napi_get_value_external(env, argv[0], (void **)&s), "igzip.deflate: not an igzip stream");
  if (s->done) THROW(env, "igzip.deflate: the stream has ended");
  bool is_typed = false;
  CHECK(env, napi_is_typedarray(env, argv[1], &is_typed), "igzip.deflate: bytes must be a Uint8Array");
  if (!is_typed) THROW(env, "igzip.deflate: bytes must be a Uint8Array");
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  CHECK(env, napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL), "igzip.deflate: bytes must be a Uint8Array");
  if (type != napi_uint8_array) THROW(env, "igzip.deflate: bytes must be a Uint8Array");
  if (length > UINT32_MAX) THROW(env, "igzip.deflate: a chunk must be under 4 GiB");
  bool final = false;
  CHECK(env, napi_get_value_bool(env, argv[2], &final), "igzip.deflate: final must be a boolean");

  struct isal_zstream *z = s->z;
  z->next_in = data;
  z->avail_in = (uint32_t)length;
  z->end_of_stream = final ? 1 : 0;
  size_t used = 0;
  for (;;) {
    /* Room for a full deflate block at every call: ISA-L writes what fits and resumes. */
    if (s->out_cap - used < (64u << 10)) {
      size_t cap = s->out_cap ? 2 * s->out_cap : (size_t)length / 4 + (256u << 10);
      uint8_t *out = realloc(s->out, cap);
      if (!out) THROW(env, "igzip.deflate: out of memory");
      account(env, s, (int64_t)cap - (int64_t)s->out_cap);
      s->out = out;
      s->out_cap = cap;
    }
    z->next_out = s->out + used;
    z->avail_out = (uint32_t)(s->out_cap - used);
    int rc = isal_deflate(z);
    if (rc != COMP_OK) {
      s->done = 1;
      release(env, s);
      char msg[64];
      snprintf(msg, sizeof msg, "igzip.deflate: isal_deflate failed (%d)", rc);
      THROW(env, msg);
    }
    used = (size_t)(z->next_out - s->out);
    if (final ? z->internal_state.state == ZSTATE_END : z->avail_in == 0) break;
  }
  napi_value result;
  napi_status made = napi_create_buffer_copy(env, used, s->out, NULL, &result);
  if (final) {
    s->done = 1;
    release(env, s);
  } else if (s->out_cap > (4u << 20)) {
    /* A large chunk grew the scratch: give it back rather than keep it for the stream's life. */
    account(env, s, -(int64_t)s->out_cap);
    free(s->out);
    s->out = NULL;
    s->out_cap = 0;
  }
  if (made != napi_ok) THROW(env, "igzip.deflate: out of memory");
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"deflate", NULL, deflate, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
