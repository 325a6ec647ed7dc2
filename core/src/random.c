/* core/src/random.c — the CPU random generator (ctorch/random.h).
 *
 * MT19937 exactly as PyTorch's CPUGeneratorImpl (aten/src/ATen/core/MT19937RNGEngine.h): the state
 * is seeded by init_genrand with the low 32 bits of the 64-bit seed, the full seed is kept for
 * initial_seed(), a 64-bit draw is two 32-bit draws (the first is the high half), and reseeding
 * drops the cached Box-Muller sample. So after tc_manual_seed(s), every draw equals PyTorch's after
 * torch.manual_seed(s).
 *
 * The default generator is process-wide and guarded by a mutex (tc__gen_lock); it starts from
 * PyTorch's default_rng_seed_val, 67280421310721 (PyTorch itself seeds its default generator from
 * the OS at start-up; ctorch keeps programs reproducible instead). Generators made with
 * tc_generator_create belong to one thread and take no lock.
 */
#include <math.h>
#include <pthread.h>
#include "random_internal.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu
#define DEFAULT_SEED 67280421310721ull

static tc_generator default_gen;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;

void tc__gen_materialize(tc_generator *g) {
  if (!g->lazy) return;
  g->state[0] = (uint32_t)(g->seed & 0xffffffffu);
  for (uint32_t j = 1; j < TC__MT_N; j++) g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + j;
  g->lazy = false;
}

static void seed_state(tc_generator *g, uint64_t seed) {
  g->seed = seed;
  g->lazy = true;     /* the state words wait for the first draw (tc__mt_twist) */
  g->next = TC__MT_N; /* twist before the first draw, as PyTorch's left_ = 1 */
  g->has_normal = false;
  g->next_normal = 0;
  g->philox_offset = 0;
}

static inline uint32_t twist(uint32_t u, uint32_t v) {
  return (((u & MT_UPPER) | (v & MT_LOWER)) >> 1) ^ ((v & 1u) ? MT_MATRIX_A : 0u);
}

void tc__mt_twist(tc_generator *g) {
  tc__gen_materialize(g); /* a fresh seed: next == N, so every first draw comes through here */
  uint32_t *s = g->state;
  int k = 0;
  for (; k < TC__MT_N - MT_M; k++) s[k] = s[k + MT_M] ^ twist(s[k], s[k + 1]);
  for (; k < TC__MT_N - 1; k++) s[k] = s[k + MT_M - TC__MT_N] ^ twist(s[k], s[k + 1]);
  s[TC__MT_N - 1] = s[MT_M - 1] ^ twist(s[TC__MT_N - 1], s[0]);
  g->next = 0;
}

void tc__gen_fill_u32(tc_generator *g, uint32_t *restrict out, int64_t n) {
  while (n > 0) {
    if (g->next >= TC__MT_N) tc__mt_twist(g);
    int64_t k = TC__MT_N - g->next;
    if (k > n) k = n;
    const uint32_t *restrict s = g->state + g->next;
    for (int64_t i = 0; i < k; i++) out[i] = tc__mt_temper(s[i]);
    g->next += (int)k;
    out += k;
    n -= k;
  }
}

/* Uniform floats straight from the state words (one pass, vectorisable). */
void tc__gen_fill_uniform_f32(tc_generator *g, float *restrict out, int64_t n) {
  while (n > 0) {
    if (g->next >= TC__MT_N) tc__mt_twist(g);
    int64_t k = TC__MT_N - g->next;
    if (k > n) k = n;
    const uint32_t *restrict s = g->state + g->next;
    for (int64_t i = 0; i < k; i++) out[i] = (float)(int32_t)(tc__mt_temper(s[i]) & 0xffffffu) * 0x1p-24f;
    g->next += (int)k;
    out += k;
    n -= k;
  }
}

void tc__gen_fill_uniform_f64(tc_generator *g, double *restrict out, int64_t n) {
  enum { CHUNK = 512 };
  uint32_t buf[2 * CHUNK];
  while (n > 0) {
    int64_t k = n < CHUNK ? n : CHUNK;
    tc__gen_fill_u32(g, buf, 2 * k);
    for (int64_t i = 0; i < k; i++) {
      uint64_t v = ((uint64_t)(buf[2 * i] & 0x1fffffu) << 32) | buf[2 * i + 1]; /* low 53 bits of random64 */
      out[i] = (double)(int64_t)v * 0x1p-53;
    }
    out += k;
    n -= k;
  }
}

float tc__gen_uniform_f32(tc_generator *g) { return (float)(int32_t)(tc__gen_u32(g) & 0xffffffu) * 0x1p-24f; }

double tc__gen_uniform_f64(tc_generator *g) {
  return (double)(int64_t)(tc__gen_u64(g) & ((UINT64_C(1) << 53) - 1)) * 0x1p-53;
}

double tc__gen_normal_f64(tc_generator *g) {
  if (g->has_normal) {
    g->has_normal = false;
    return g->next_normal;
  }
  double u1 = tc__gen_uniform_f64(g);
  double u2 = tc__gen_uniform_f64(g);
  double r = sqrt(-2.0 * log1p(-u2));
  double theta = 2.0 * M_PI * u1;
  g->next_normal = r * sin(theta);
  g->has_normal = true;
  return r * cos(theta);
}

/* ---- the default generator and locking ------------------------------------------------------ */

static void default_init(void) {
  seed_state(&default_gen, DEFAULT_SEED);
  default_gen.is_default = true;
}

tc_generator *tc_default_generator(void) {
  pthread_once(&default_once, default_init);
  return &default_gen;
}

tc_generator *tc__gen_or_default(tc_generator *g) { return g ? g : tc_default_generator(); }

void tc__gen_lock(tc_generator *g) {
  if (g->is_default) pthread_mutex_lock(&default_mu);
}

void tc__gen_unlock(tc_generator *g) {
  if (g->is_default) pthread_mutex_unlock(&default_mu);
}

/* ---- public API ------------------------------------------------------------------------------ */

tc_generator *tc_generator_create(uint64_t seed) {
  tc_generator *g = tc__malloc(sizeof *g);
  if (!g) return NULL;
  seed_state(g, seed);
  g->is_default = false;
  return g;
}

void tc_generator_destroy(tc_generator *g) {
  if (g && !g->is_default) tc__free(g);
}

void tc_generator_manual_seed(tc_generator *g, uint64_t seed) {
  g = tc__gen_or_default(g);
  tc__gen_lock(g);
  seed_state(g, seed);
  tc__gen_unlock(g);
}

uint64_t tc_generator_initial_seed(const tc_generator *g) {
  tc_generator *d = tc__gen_or_default((tc_generator *)g);
  tc__gen_lock(d);
  uint64_t s = d->seed;
  tc__gen_unlock(d);
  return s;
}

void tc_manual_seed(uint64_t seed) { tc_generator_manual_seed(NULL, seed); }

uint32_t tc_generator_next_u32(tc_generator *g) {
  g = tc__gen_or_default(g);
  tc__gen_lock(g);
  uint32_t v = tc__gen_u32(g);
  tc__gen_unlock(g);
  return v;
}

uint64_t tc_generator_next_u64(tc_generator *g) {
  g = tc__gen_or_default(g);
  tc__gen_lock(g);
  uint64_t v = tc__gen_u64(g);
  tc__gen_unlock(g);
  return v;
}

double tc_generator_uniform(tc_generator *g) {
  g = tc__gen_or_default(g);
  tc__gen_lock(g);
  double v = tc__gen_uniform_f64(g);
  tc__gen_unlock(g);
  return v;
}

/* ---- state blobs (get_state / set_state) -----------------------------------------------------
 * PyTorch's CPUGeneratorImplState, little-endian, byte offsets:
 *   0 u64 the_initial_seed   8 i32 left   12 i32 seeded   16 u64 next   24 u64 state[624]
 *   5016 f64 normal_x   5024 f64 normal_y   5032 f64 normal_rho   5040 i32 normal_is_valid
 *   (5048 = the legacy struct's size) 5048 f32 next_float_normal_sample 5052 u8 its valid flag
 * PyTorch's engine counts `left` down to the next twist: left = 625 - next, and left = 1 means
 * "twist before the next draw" (ctorch's next = 624). The cached double sample is normal_y. */
enum { ST_SIZE = 5056, ST_LEGACY = 5048, ST_WORDS = 24, ST_NX = 5016, ST_NY = 5024, ST_RHO = 5032, ST_NVALID = 5040 };

static void put_le(uint8_t *b, size_t off, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

tc_status tc_generator_get_state(const tc_generator *g, tc_tensor **state) {
  if (!state) return tc__error(TC_ERR_ARG, "tc_generator_get_state: state is NULL");
  *state = NULL;
  tc_tensor *t = tc__empty((const int64_t[]){ST_SIZE}, 1, TC_U8, tc_cpu());
  if (!t) return tc_last_status();
  uint8_t *b = (uint8_t *)tc__ptr(t);
  memset(b, 0, ST_SIZE);
  tc_generator *d = tc__gen_or_default((tc_generator *)g);
  tc__gen_lock(d);
  put_le(b, 0, d->seed, 8);
  put_le(b, 8, (uint64_t)(TC__MT_N + 1 - d->next), 4);
  put_le(b, 12, 1, 4);
  put_le(b, 16, (uint64_t)d->next, 8);
  tc__gen_materialize(d);
  for (int i = 0; i < TC__MT_N; i++) put_le(b, ST_WORDS + 8 * (size_t)i, d->state[i], 8);
  if (d->has_normal) {
    uint64_t bits;
    memcpy(&bits, &d->next_normal, sizeof bits);
    put_le(b, ST_NY, bits, 8);
    put_le(b, ST_NVALID, 1, 4);
  }
  tc__gen_unlock(d);
  *state = t;
  return TC_OK;
}

/* Reads n little-endian bytes at off of a 1-D uint8 tensor with any stride. */
static uint64_t get_le(const tc_tensor *t, int64_t off, int n) {
  const uint8_t *p = (const uint8_t *)tc__ptr(t);
  int64_t st = t->strides[0];
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[(off + i) * st] << (8 * i);
  return v;
}

tc_status tc_generator_set_state(tc_generator *g, const tc_tensor *state) {
  const char *fn = "tc_generator_set_state";
  TC__NONNULL_S(state, fn);
  if (state->dtype != TC_U8 || state->ndim != 1)
    return tc__error(TC_ERR_CORRUPT, "%s: the state must be a 1-D uint8 tensor, got %s of shape %s", fn,
                     tc_dtype_name(state->dtype), tc__tshape(state));
  tc_status st = tc__require_cpu(fn, state);
  if (st) return st;
  int64_t n = state->sizes[0];
  if (n != ST_SIZE && n != ST_LEGACY)
    return tc__error(TC_ERR_CORRUPT, "%s: a generator state has %d bytes (or %d, PyTorch's legacy form), got %lld", fn,
                     ST_SIZE, ST_LEGACY, (long long)n);
  int64_t left = (int32_t)get_le(state, 8, 4), seeded = (int32_t)get_le(state, 12, 4);
  uint64_t next = get_le(state, 16, 8);
  if (seeded != 1) return tc__error(TC_ERR_CORRUPT, "%s: byte 12 (seeded) is %lld, not 1", fn, (long long)seeded);
  if (left < 1 || left > TC__MT_N)
    return tc__error(TC_ERR_CORRUPT, "%s: byte 8 (left) is %lld, outside [1, %d]", fn, (long long)left, TC__MT_N);
  if (next > TC__MT_N || (left > 1 && next != (uint64_t)(TC__MT_N + 1 - left)))
    return tc__error(TC_ERR_CORRUPT, "%s: byte 16 (next) is %llu, inconsistent with left = %lld", fn,
                     (unsigned long long)next, (long long)left);
  for (int i = 0; i < TC__MT_N; i++)
    if (get_le(state, ST_WORDS + 8 * (int64_t)i, 8) >> 32)
      return tc__error(TC_ERR_CORRUPT, "%s: byte %lld (state word %d) exceeds 32 bits", fn,
                       (long long)(ST_WORDS + 8 * i), i);
  int64_t valid = (int32_t)get_le(state, ST_NVALID, 4);
  if (valid != 0 && valid != 1)
    return tc__error(TC_ERR_CORRUPT, "%s: byte %d (normal_is_valid) is %lld, not 0 or 1", fn, ST_NVALID,
                     (long long)valid);
  uint64_t bits = get_le(state, ST_NY, 8);
  double y;
  memcpy(&y, &bits, sizeof y);
  if (valid && !isfinite(y))
    return tc__error(TC_ERR_CORRUPT, "%s: byte %d (cached normal sample) is not finite", fn, ST_NY);
  tc_generator *d = tc__gen_or_default(g);
  tc__gen_lock(d);
  d->seed = get_le(state, 0, 8);
  for (int i = 0; i < TC__MT_N; i++) d->state[i] = (uint32_t)get_le(state, ST_WORDS + 8 * (int64_t)i, 8);
  d->lazy = false;
  d->next = TC__MT_N + 1 - (int)left;
  d->has_normal = valid == 1;
  d->next_normal = valid ? y : 0.0;
  tc__gen_unlock(d);
  return TC_OK;
}
