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

static void seed_state(tc_generator *g, uint64_t seed) {
  g->seed = seed;
  g->state[0] = (uint32_t)(seed & 0xffffffffu);
  for (uint32_t j = 1; j < TC__MT_N; j++) g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + j;
  g->next = TC__MT_N; /* twist before the first draw, as PyTorch's left_ = 1 */
  g->has_normal = false;
  g->next_normal = 0;
}

static inline uint32_t twist(uint32_t u, uint32_t v) {
  return (((u & MT_UPPER) | (v & MT_LOWER)) >> 1) ^ ((v & 1u) ? MT_MATRIX_A : 0u);
}

void tc__mt_twist(tc_generator *g) {
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
