/* core/src/random_internal.h — the generator's layout, shared by random.c (the engine) and
 * random_ops.c (the random tensor factories and fills). Not installed.
 *
 * The engine is PyTorch's CPUGeneratorImpl: MT19937 seeded with the low 32 bits of the seed
 * (init_genrand), 32-bit draws tempered as in the reference, 64-bit draws made of two 32-bit draws
 * (first = high half), and the second Box-Muller sample of normal_distribution<double> cached
 * between calls (PyTorch's next_double_normal_sample).
 *
 * Callers of the draw functions hold the generator: tc__gen_lock(g) ... tc__gen_unlock(g) (only
 * the default generator has a mutex; user generators belong to one thread).
 */
#ifndef CTORCH_RANDOM_INTERNAL_H
#define CTORCH_RANDOM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "internal.h"

#define TC__MT_N 624

struct tc_generator {
  uint32_t state[TC__MT_N];
  /* Index of the next state word to temper; TC__MT_N means "twist before the next draw" (PyTorch
   * keeps the same information as left_ = TC__MT_N + 1 - next). */
  int next;
  uint64_t seed;      /* the full 64-bit seed (initial_seed); the engine uses its low 32 bits */
  bool has_normal;    /* a cached second Box-Muller sample is pending */
  double next_normal; /* that sample (standard normal, before mean/std) */
  bool is_default;    /* the process-wide generator, guarded by a mutex */
  /* Device draws (Philox, counter-based: cuda/random.cu) use the seed as key and this counter
   * offset, advanced by every device draw; reset by seeding. Not part of the CPU state bytes
   * (torch.get_rng_state() does not hold the CUDA generator's either). */
  uint64_t philox_offset;
  /* Seeding only records the seed: the 624 state words are computed by the first draw (or a
   * state read), so reseeding per sample (the DataLoader does) costs nothing until used. */
  bool lazy;
};

/* Computes the state words of a lazily seeded generator (no-op otherwise). */
void tc__gen_materialize(tc_generator *g);

/* Regenerates the 624 state words (the MT19937 "twist"); sets next = 0. */
void tc__mt_twist(tc_generator *g);

static inline uint32_t tc__mt_temper(uint32_t y) {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

/* One 32-bit draw (PyTorch's random()). */
static inline uint32_t tc__gen_u32(tc_generator *g) {
  if (g->next >= TC__MT_N) tc__mt_twist(g);
  return tc__mt_temper(g->state[g->next++]);
}

/* One 64-bit draw (PyTorch's random64()): the first 32-bit draw is the high half. */
static inline uint64_t tc__gen_u64(tc_generator *g) {
  uint64_t hi = tc__gen_u32(g);
  return (hi << 32) | tc__gen_u32(g);
}

/* n consecutive 32-bit draws into out (the same values as n calls of tc__gen_u32). */
void tc__gen_fill_u32(tc_generator *g, uint32_t *out, int64_t n);
/* n uniforms in [0, 1) as torch.rand: float from 24 bits of one draw, double from 53 bits of one
 * 64-bit draw. */
void tc__gen_fill_uniform_f32(tc_generator *g, float *out, int64_t n);
void tc__gen_fill_uniform_f64(tc_generator *g, double *out, int64_t n);

/* A standard normal sample as PyTorch's normal_distribution<double> (Box-Muller on two 53-bit
 * uniforms: returns r*cos(theta) and caches r*sin(theta) for the next call). */
double tc__gen_normal_f64(tc_generator *g);

/* Box-Muller on 16 floats in place, as PyTorch's vectorised normal_fill_16 for float: d[0..8)
 * and d[8..16) are uniforms in [0, 1); d[j] becomes r*cos*std + mean and d[j+8] r*sin*std + mean,
 * with the Cephes-style logf/sincosf of PyTorch's avx_mathfun.h (the same bits on every CPU:
 * `force_scalar` selects the portable path, which tests compare with the AVX2 one). */
void tc__box_muller16_f32(float *d, float mean, float std, bool force_scalar);

#endif
