/*
 * edgelake's column reader, a SQLite loadable extension (src/source/native-columns.ts).
 *
 * One aggregate, edgelake_columns(layout, v1, ..., vN), packs the rows it is fed into one BLOB
 * of columns: doubles for numbers, dictionary codes for text, the event time of canonical
 * timestamps, and every value of another type than declared kept as stored. Reading a row into
 * JS through better-sqlite3 costs a JS value per column (~27 a row, most of them strings that
 * repeat per sensor); here a row costs a few C loads and one hash probe per text column, and JS
 * sees each distinct string once per batch.
 *
 * It is loaded into better-sqlite3's own SQLite (db.loadExtension) and calls SQLite only through
 * the routines SQLite hands it: one SQLite library in the process, so SQLite's own bookkeeping of
 * POSIX locks per file stays whole (a second copy of SQLite in one process can drop the other's
 * locks: https://sqlite.org/howtocorrupt.html, 2.2.1).
 *
 * `layout` has one letter per value argument:
 *   i  the id (a number; anything else is reported as irregular, JS converts it)
 *   r  a numeric column (INTEGER or REAL → double; NULL → NaN; other types irregular)
 *   s  a text column (dictionary codes, -1 for NULL; other types irregular)
 *   S  sensor_id, a text column whose codes key a per-sensor cache of the other text columns
 *   t  the timestamp, text kept    T  the timestamp, event time only
 *   x  a column outside the contract (values as stored)
 *
 * The BLOB (native byte order: it is read in the process that wrote it, by native-columns.ts):
 *   header   u32 magic 'ELC1', u32 rows, u32 columns, u32 flags (bit 0: every kept timestamp is ASCII),
 *            f64 raw bytes counted here (strings JS decodes are counted by JS)
 *   then per column, in layout order, each part padded to 8 bytes:
 *     i, r   f64[rows]
 *     s      i32 codes[rows] | u32 entries, u32 bytes, u32 ascii, u32 0 | u32 start[entries + 1] |
 *            u32 hits[entries] | bytes
 *     t      f64 event ms[rows] | u32 start[rows + 1] | u8 is-text[rows] | bytes
 *     T      f64 event ms[rows]
 *     x      u32 length | values (tagged, below)
 *   u32 count | irregular values: u32 column, u32 row, tagged value
 *   u32 count | timestamps the fast path leaves to JS: u32 row, u32 length, bytes
 * A tagged value: u8 type (1 integer, 2 real, 3 text, 4 blob, 5 null), then i64 | f64 | u32 length + bytes | nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define MAGIC 0x31434c45u /* "ELC1" */
#define MAX_COLUMNS 2000

typedef struct {
  uint8_t *p;
  size_t len, cap;
  int fixed; /* memory it does not own (the BLOB, below): never grown */
} Buf;

static int reserve(Buf *b, size_t more) {
  if (b->len + more <= b->cap) return 1;
  if (b->fixed) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return 0;
  b->p = p;
  b->cap = cap;
  return 1;
}

static int put(Buf *b, const void *v, size_t n) {
  if (!reserve(b, n)) return 0;
  if (n) memcpy(b->p + b->len, v, n);
  b->len += n;
  return 1;
}

/* Fixed-size appends, inlined: a row makes ~27 of them, and a call to memcpy for 8 bytes costs more than the copy. */
#define PUT_FIXED(b, v)                                                   \
  do {                                                                    \
    if ((b)->len + sizeof(v) > (b)->cap && !reserve((b), sizeof(v))) return 0; \
    memcpy((b)->p + (b)->len, &(v), sizeof(v));                           \
    (b)->len += sizeof(v);                                                \
    return 1;                                                             \
  } while (0)
static inline int put_u8(Buf *b, uint8_t v) { PUT_FIXED(b, v); }
static inline int put_u32(Buf *b, uint32_t v) { PUT_FIXED(b, v); }
static inline int put_i32(Buf *b, int32_t v) { PUT_FIXED(b, v); }
static inline int put_f64(Buf *b, double v) { PUT_FIXED(b, v); }

/* A text column's dictionary: codes in first-seen order, open addressing over the hashes. */
typedef struct {
  Buf bytes;  /* the values, back to back */
  Buf starts; /* u32 start of each value in bytes */
  Buf hits;   /* u32 rows per code */
  Buf hashes; /* u64 hash of each value */
  uint32_t *slots; /* code + 1; 0 is empty */
  uint32_t mask;
  uint32_t count;
  int ascii;
} Dict;

typedef struct {
  char kind;
  Buf values; /* f64 or i32 per row (i, r, s, t, T) or tagged values (x) */
  Dict dict;  /* s */
  Buf ts_starts, ts_text, ts_bytes; /* t */
  int32_t *by_sensor; /* s: the last code seen per sensor code (-1: none), a cache in front of the hash */
  uint32_t by_sensor_cap;
} Column;

typedef struct {
  int ncols;
  int sensor; /* the column of sensor_id (its codes key the caches), or -1 */
  uint32_t rows;
  double raw_bytes;
  int ts_ascii;
  int failed;
  Buf irregular;
  uint32_t irregular_count;
  Buf odd_times;
  uint32_t odd_count;
  Column *cols;
} State;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t k;
    memcpy(&k, p, 8);
    h = (h ^ k) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t k = 0;
  for (size_t i = 0; i < n; i++) k |= (uint64_t)p[i] << (8 * i);
  h = (h ^ k) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

static int is_ascii(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] & 0x80) return 0;
  return 1;
}

static int dict_grow(Dict *d) {
  uint32_t size = d->mask ? (d->mask + 1) * 2 : 64;
  uint32_t *slots = calloc(size, sizeof(uint32_t));
  if (!slots) return 0;
  const uint64_t *hashes = (const uint64_t *)d->hashes.p;
  for (uint32_t code = 0; code < d->count; code++) {
    uint32_t i = (uint32_t)hashes[code] & (size - 1);
    while (slots[i]) i = (i + 1) & (size - 1);
    slots[i] = code + 1;
  }
  free(d->slots);
  d->slots = slots;
  d->mask = size - 1;
  return 1;
}

static inline int dict_equal(const Dict *d, uint32_t code, const uint8_t *p, size_t n) {
  const uint32_t *starts = (const uint32_t *)d->starts.p;
  uint32_t s = starts[code];
  uint32_t e = code + 1 < d->count ? starts[code + 1] : (uint32_t)d->bytes.len;
  if (e - s != n) return 0;
  const uint8_t *q = d->bytes.p + s;
  /* Dictionary values are short (a model, a serial number): a loop beats a call to memcmp. */
  for (size_t i = 0; i < n; i++)
    if (q[i] != p[i]) return 0;
  return 1;
}

/* The code of `p[0..n)`, added when new; -1 when out of memory. */
static int32_t dict_code(Dict *d, const uint8_t *p, size_t n) {
  if ((d->count + 1) * 2 > d->mask + 1 && !dict_grow(d)) return -1;
  uint64_t h = hash_bytes(p, n);
  uint32_t i = (uint32_t)h & d->mask;
  const uint64_t *hashes = (const uint64_t *)d->hashes.p;
  for (;;) {
    uint32_t slot = d->slots[i];
    if (!slot) break;
    if (hashes[slot - 1] == h && dict_equal(d, slot - 1, p, n)) return (int32_t)(slot - 1);
    i = (i + 1) & d->mask;
  }
  if (d->bytes.len + n > UINT32_MAX) return -1;
  uint32_t code = d->count;
  if (!put_u32(&d->starts, (uint32_t)d->bytes.len) || !put(&d->bytes, p, n) || !put(&d->hashes, &h, 8) || !put_u32(&d->hits, 0)) return -1;
  if (d->ascii && !is_ascii(p, n)) d->ascii = 0;
  d->slots[i] = code + 1;
  d->count++;
  return (int32_t)code;
}

/*
 * The UTF-8 bytes of a TEXT value and their number. sqlite3_value_text copies a value that sits
 * unterminated in a page only to add a NUL (a third of this file's time when it did); in a UTF-8
 * database the BLOB view is the same bytes, uncopied.
 */
static const uint8_t *text_bytes(sqlite3_value *v, int *n) {
  const uint8_t *p = sqlite3_value_encoding(v) == SQLITE_UTF8 ? sqlite3_value_blob(v) : sqlite3_value_text(v);
  *n = sqlite3_value_bytes(v);
  return p || *n ? p : (const uint8_t *)"";
}

/* Appends a value as stored: type, then its payload. */
static int put_tagged(Buf *b, sqlite3_value *v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: {
      int64_t i = sqlite3_value_int64(v);
      return put_u8(b, 1) && put(b, &i, 8);
    }
    case SQLITE_FLOAT:
      return put_u8(b, 2) && put_f64(b, sqlite3_value_double(v));
    case SQLITE_TEXT: {
      int n;
      const uint8_t *p = text_bytes(v, &n);
      if (!p) return 0;
      return put_u8(b, 3) && put_u32(b, (uint32_t)n) && put(b, p, (size_t)n);
    }
    case SQLITE_BLOB: {
      const void *p = sqlite3_value_blob(v);
      int n = sqlite3_value_bytes(v);
      return put_u8(b, 4) && put_u32(b, (uint32_t)n) && put(b, p, (size_t)n);
    }
    default:
      return put_u8(b, 5);
  }
}

static int irregular(State *s, int col, uint32_t row, sqlite3_value *v) {
  s->irregular_count++;
  return put_u32(&s->irregular, (uint32_t)col) && put_u32(&s->irregular, row) && put_tagged(&s->irregular, v);
}

static int two(const uint8_t *p, int i) {
  int a = p[i] - '0', b = p[i + 1] - '0';
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, exact for any year). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/*
 * Epoch ms of a canonical timestamp (`YYYY-MM-DDTHH:MM:SS.mmm` then `Z` or `±HH:MM`, a space for
 * `T` too), or 0 with *ok unset for anything else, an impossible day included: those go to JS,
 * whose src/source/event-time.ts (and SQLite behind it) decides. The conditions are the JS fast
 * path's, so the two agree wherever this one answers.
 */
static double canonical_ms(const uint8_t *s, int n, int *ok) {
  *ok = 0;
  if (n != 24 && n != 29) return 0;
  uint8_t sep = s[10];
  if (s[4] != '-' || s[7] != '-' || (sep != 'T' && sep != ' ') || s[13] != ':' || s[16] != ':' || s[19] != '.') return 0;
  int yh = two(s, 0), yl = two(s, 2), mo = two(s, 5), d = two(s, 8), h = two(s, 11), mi = two(s, 14), se = two(s, 17), m1 = two(s, 20);
  int m2 = s[22] - '0';
  if (yh < 10 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 || m1 < 0 || !(m2 >= 0 && m2 <= 9)) return 0;
  int offset_min = 0;
  if (n == 24) {
    if (s[23] != 'Z') return 0;
  } else {
    uint8_t sign = s[23];
    int oh = two(s, 24), om = two(s, 27);
    if ((sign != '+' && sign != '-') || s[26] != ':' || oh < 0 || oh > 14 || om < 0 || om > 59) return 0;
    offset_min = (sign == '+' ? 1 : -1) * (oh * 60 + om);
  }
  int y = yh * 100 + yl;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > (mo == 2 && leap ? 29 : DAYS[mo - 1])) return 0;
  *ok = 1;
  int64_t ms = days_from_civil(y, mo, d) * 86400000LL + ((int64_t)(h * 60 + mi) * 60 + se) * 1000 + m1 * 10 + m2 - (int64_t)offset_min * 60000;
  return (double)ms;
}

static void free_state(State *s) {
  if (!s) return;
  for (int c = 0; s->cols && c < s->ncols; c++) {
    Column *col = &s->cols[c];
    free(col->values.p);
    free(col->dict.bytes.p);
    free(col->dict.starts.p);
    free(col->dict.hits.p);
    free(col->dict.hashes.p);
    free(col->dict.slots);
    free(col->ts_starts.p);
    free(col->ts_text.p);
    free(col->ts_bytes.p);
    free(col->by_sensor);
  }
  free(s->cols);
  free(s->irregular.p);
  free(s->odd_times.p);
  free(s);
}

static State *new_state(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *layout = (const char *)sqlite3_value_text(argv[0]);
  int n = layout ? (int)strlen(layout) : -1;
  if (n != argc - 1 || n > MAX_COLUMNS) {
    sqlite3_result_error(ctx, "edgelake_columns: the layout must name one kind per value argument", -1);
    return NULL;
  }
  State *s = calloc(1, sizeof(State));
  if (!s || !(s->cols = calloc((size_t)(n ? n : 1), sizeof(Column)))) {
    free(s);
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  s->ncols = n;
  s->sensor = -1;
  s->ts_ascii = 1;
  for (int c = 0; c < n; c++) {
    char k = layout[c];
    if (!strchr("irsStTx", k)) {
      free_state(s);
      sqlite3_result_error(ctx, "edgelake_columns: unknown column kind in the layout", -1);
      return NULL;
    }
    if (k == 'S') {
      if (s->sensor >= 0) {
        free_state(s);
        sqlite3_result_error(ctx, "edgelake_columns: the layout names two sensor columns", -1);
        return NULL;
      }
      s->sensor = c;
      k = 's';
    }
    s->cols[c].kind = k;
    s->cols[c].dict.ascii = 1;
  }
  return s;
}

static void step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  State **slot = sqlite3_aggregate_context(ctx, sizeof(State *));
  if (!slot) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (!*slot && !(*slot = new_state(ctx, argc, argv))) return;
  State *s = *slot;
  if (s->failed) return;
  uint32_t row = s->rows;
  int ok = 1;
  int32_t sensor = -1;
  for (int c = 0; c < s->ncols && ok; c++) {
    Column *col = &s->cols[c];
    sqlite3_value *v = argv[c + 1];
    int type = sqlite3_value_type(v);
    switch (col->kind) {
      case 'i':
        s->raw_bytes += 8;
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) ok = put_f64(&col->values, type == SQLITE_INTEGER ? (double)sqlite3_value_int64(v) : sqlite3_value_double(v));
        else ok = put_f64(&col->values, NAN) && irregular(s, c, row, v);
        break;
      case 'r':
        if (type == SQLITE_INTEGER) ok = put_f64(&col->values, (double)sqlite3_value_int64(v)), s->raw_bytes += 8;
        else if (type == SQLITE_FLOAT) ok = put_f64(&col->values, sqlite3_value_double(v)), s->raw_bytes += 8;
        else {
          ok = put_f64(&col->values, NAN);
          /* A text's length is counted by JS, which decodes it; anything else counts 8 as a number does. */
          if (type != SQLITE_TEXT) s->raw_bytes += 8;
          if (ok && type != SQLITE_NULL) ok = irregular(s, c, row, v);
        }
        break;
      case 's': {
        int32_t code = -1;
        if (type == SQLITE_TEXT) {
          int n;
          const uint8_t *p = text_bytes(v, &n);
          if (!p) { ok = 0; break; }
          if (sensor >= 0 && c != s->sensor) {
            if ((uint32_t)sensor >= col->by_sensor_cap) {
              uint32_t cap = col->by_sensor_cap ? col->by_sensor_cap : 64;
              while (cap <= (uint32_t)sensor) cap *= 2;
              int32_t *b = realloc(col->by_sensor, cap * sizeof(int32_t));
              if (!b) { ok = 0; break; }
              for (uint32_t i = col->by_sensor_cap; i < cap; i++) b[i] = -1;
              col->by_sensor = b;
              col->by_sensor_cap = cap;
            }
            int32_t last = col->by_sensor[sensor];
            if (last >= 0 && dict_equal(&col->dict, (uint32_t)last, p, (size_t)n)) code = last;
            else if ((code = dict_code(&col->dict, p, (size_t)n)) >= 0) col->by_sensor[sensor] = code;
          } else code = dict_code(&col->dict, p, (size_t)n);
          if (code < 0) { ok = 0; break; }
          ((uint32_t *)col->dict.hits.p)[code]++;
          if (c == s->sensor) sensor = code;
        } else if (type != SQLITE_NULL) {
          s->raw_bytes += 8;
          ok = irregular(s, c, row, v);
        }
        if (ok) ok = put_i32(&col->values, code);
        break;
      }
      case 't':
      case 'T': {
        double ms = NAN;
        if (type == SQLITE_TEXT) {
          int n;
          const uint8_t *p = text_bytes(v, &n);
          if (!p) { ok = 0; break; }
          int parsed;
          ms = canonical_ms(p, n, &parsed);
          if (parsed) s->raw_bytes += n; /* canonical text is ASCII: bytes are its length */
          else {
            ms = NAN;
            s->odd_count++;
            ok = put_u32(&s->odd_times, row) && put_u32(&s->odd_times, (uint32_t)n) && put(&s->odd_times, p, (size_t)n);
          }
          if (ok && col->kind == 't') {
            if (s->ts_ascii && !is_ascii(p, (size_t)n)) s->ts_ascii = 0;
            ok = put_u32(&col->ts_starts, (uint32_t)col->ts_bytes.len) && put(&col->ts_bytes, p, (size_t)n) && put_u8(&col->ts_text, 1);
          }
        } else {
          if (type != SQLITE_NULL) {
            s->raw_bytes += 8;
            ok = irregular(s, c, row, v);
          }
          if (ok && col->kind == 't') ok = put_u32(&col->ts_starts, (uint32_t)col->ts_bytes.len) && put_u8(&col->ts_text, 0);
        }
        if (ok) ok = put_f64(&col->values, ms);
        break;
      }
      default: /* x */
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) s->raw_bytes += 8;
        else if (type == SQLITE_BLOB) s->raw_bytes += sqlite3_value_bytes(v);
        ok = put_tagged(&col->values, v);
        break;
    }
  }
  if (!ok) {
    s->failed = 1;
    sqlite3_result_error_nomem(ctx);
    return;
  }
  s->rows++;
}

/*
 * The memory of a connection's last BLOB, kept for its next one. A piece's BLOB is ≈ 1.4 MB, above
 * glibc's mmap threshold (src/cli/malloc.ts): without the spare, every piece mapped fresh pages,
 * faulted them in, and unmapped them once better-sqlite3 had copied the BLOB out, and each unmap
 * flushed the other core's TLB. A read copies its BLOB out before the next piece is made, so one
 * spare per connection is enough; it goes with the connection (the function's destructor).
 */
typedef struct {
  uint8_t *spare;
  size_t cap;
} BlobCache;

/* Before each BLOB handed to SQLite: where its memory goes back to. Two words, so the BLOB keeps malloc's alignment. */
typedef struct {
  BlobCache *cache;
  size_t cap;
} BlobHeader;

static void drop_cache(void *p) {
  BlobCache *c = p;
  if (!c) return;
  free(c->spare);
  free(c);
}

/* SQLite's destructor of a BLOB from final(): its memory becomes the connection's spare. */
static void release_blob(void *p) {
  BlobHeader *h = (BlobHeader *)((uint8_t *)p - sizeof(BlobHeader));
  BlobCache *c = h->cache;
  if (c->spare) {
    free(h);
    return;
  }
  c->spare = (uint8_t *)h;
  c->cap = h->cap;
}

/* Memory for a BLOB of at most `size` bytes after its header: the spare when it is large enough. */
static BlobHeader *blob_memory(BlobCache *c, size_t size) {
  size_t need = sizeof(BlobHeader) + size;
  BlobHeader *h;
  if (c->spare && c->cap >= need) {
    h = (BlobHeader *)c->spare;
    h->cap = c->cap;
  } else {
    free(c->spare);
    /* An eighth more, so that the next piece, a little larger, fits too. */
    size_t cap = need + need / 8;
    if (!(h = malloc(cap))) {
      c->spare = NULL;
      return NULL;
    }
    h->cap = cap;
  }
  c->spare = NULL;
  h->cache = c;
  return h;
}

static int pad8(Buf *b) {
  static const uint8_t zero[8] = {0};
  return put(b, zero, (8 - (b->len & 7)) & 7);
}

static void final(sqlite3_context *ctx) {
  State **slot = sqlite3_aggregate_context(ctx, 0);
  State *s = slot ? *slot : NULL;
  if (!s) {
    sqlite3_result_null(ctx); /* no rows */
    return;
  }
  *slot = NULL;
  if (s->failed) {
    free_state(s);
    return;
  }
  /* The BLOB's exact size (an upper bound by the padding) first, so it is allocated once, not doubled up to twice its size. */
  size_t size = 24 + 8 + s->irregular.len + 8 + s->odd_times.len + 8;
  for (int c = 0; c < s->ncols; c++) {
    const Column *col = &s->cols[c];
    size += col->values.len + 16;
    if (col->kind == 's') size += 16 + col->dict.starts.len + 4 + col->dict.hits.len + col->dict.bytes.len + 8;
    if (col->kind == 't') size += col->ts_starts.len + 4 + col->ts_text.len + col->ts_bytes.len + 8;
  }
  BlobHeader *blob = blob_memory(sqlite3_user_data(ctx), size);
  if (!blob) {
    free_state(s);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  Buf out = {(uint8_t *)(blob + 1), 0, blob->cap - sizeof(BlobHeader), 1};
  uint32_t flags = s->ts_ascii ? 1u : 0u;
  int ok = put_u32(&out, MAGIC) && put_u32(&out, s->rows) && put_u32(&out, (uint32_t)s->ncols) && put_u32(&out, flags) && put_f64(&out, s->raw_bytes);
  for (int c = 0; c < s->ncols && ok; c++) {
    Column *col = &s->cols[c];
    switch (col->kind) {
      case 's': {
        Dict *d = &col->dict;
        ok = put(&out, col->values.p, col->values.len) && pad8(&out) && put_u32(&out, d->count) && put_u32(&out, (uint32_t)d->bytes.len) &&
             put_u32(&out, (uint32_t)d->ascii) && put_u32(&out, 0) && put(&out, d->starts.p, d->starts.len) && put_u32(&out, (uint32_t)d->bytes.len) &&
             put(&out, d->hits.p, d->hits.len) && put(&out, d->bytes.p, d->bytes.len) && pad8(&out);
        break;
      }
      case 't':
        ok = put(&out, col->values.p, col->values.len) && put(&out, col->ts_starts.p, col->ts_starts.len) && put_u32(&out, (uint32_t)col->ts_bytes.len) &&
             put(&out, col->ts_text.p, col->ts_text.len) && put(&out, col->ts_bytes.p, col->ts_bytes.len) && pad8(&out);
        break;
      case 'x':
        ok = put_u32(&out, (uint32_t)col->values.len) && put(&out, col->values.p, col->values.len) && pad8(&out);
        break;
      default:
        ok = put(&out, col->values.p, col->values.len);
    }
    /* Each column's memory goes as soon as it is in the BLOB: the two are not all held at once. */
    free(col->values.p);
    col->values = (Buf){0};
    free(col->dict.bytes.p);
    col->dict.bytes = (Buf){0};
    free(col->ts_bytes.p);
    col->ts_bytes = (Buf){0};
  }
  ok = ok && put_u32(&out, s->irregular_count) && put(&out, s->irregular.p, s->irregular.len) && put_u32(&out, s->odd_count) &&
       put(&out, s->odd_times.p, s->odd_times.len);
  free_state(s);
  if (!ok) {
    release_blob(out.p);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_blob64(ctx, out.p, out.len, release_blob);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_edgelakecolumns_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  SQLITE_EXTENSION_INIT2(api);
  BlobCache *cache = calloc(1, sizeof(BlobCache));
  if (!cache) return SQLITE_NOMEM;
  /* SQLite calls drop_cache when the connection closes, and when the registration fails. */
  return sqlite3_create_function_v2(db, "edgelake_columns", -1, SQLITE_UTF8, cache, NULL, step, final, drop_cache);
}
