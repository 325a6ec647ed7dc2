/* ctorch/random.h — random number generators.
 *
 * The CPU generator is MT19937, seeded like torch.manual_seed: after tc_manual_seed(s),
 * tc_rand / tc_randn in float32 produce the same numbers as torch.rand / torch.randn after
 * torch.manual_seed(s), so results can be compared with PyTorch number for number.
 *
 *   tc_manual_seed(0);
 *   tc_tensor *x = tc_randn((int64_t[]){2, 3}, 2, NULL);    // == torch.randn(2, 3)
 *   tc_generator *g = tc_generator_create(42);
 *   tc_tensor *y = tc_rand((int64_t[]){4}, 1, TC_OPTS(.generator = g));
 *
 * A generator is not thread-safe; use one per thread (the default generator is locked).
 */
#ifndef CTORCH_RANDOM_H
#define CTORCH_RANDOM_H

#include <stdint.h>
#include "ctorch/export.h"
#include "ctorch/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_generator tc_generator;
typedef struct tc_tensor tc_tensor; /* as in ctorch/tensor.h */

TC_API tc_generator *tc_generator_create(uint64_t seed);
TC_API void tc_generator_destroy(tc_generator *g);
TC_API void tc_generator_manual_seed(tc_generator *g, uint64_t seed);
TC_API uint64_t tc_generator_initial_seed(const tc_generator *g);
/* Seeds the default CPU generator (torch.manual_seed). */
TC_API void tc_manual_seed(uint64_t seed);
/* The process-wide default generator (never NULL). */
TC_API tc_generator *tc_default_generator(void);

/* Raw draws, for libraries built on ctorch (transforms, datasets). */
TC_API uint32_t tc_generator_next_u32(tc_generator *g);
TC_API uint64_t tc_generator_next_u64(tc_generator *g);
TC_API double tc_generator_uniform(tc_generator *g); /* [0, 1), 53 bits */

/* torch.Generator.get_state / set_state (torch.get_rng_state / set_rng_state for the default
 * generator; g NULL = the default generator). *state receives a new 1-D uint8 CPU tensor of 5056 bytes
 * laid out as PyTorch's CPUGeneratorImplState (little-endian): initial seed, MT19937 words,
 * position, and the cached Box-Muller normal sample, so blobs pass between ctorch and PyTorch.
 * After set_state, draws continue exactly as they did after the get_state that made the blob
 * (PyTorch's own set_state drops a cached double normal sample; ctorch restores it).
 * get_state fails only with TC_ERR_NOMEM (*state = NULL). set_state accepts the 5056-byte form
 * and PyTorch's 5048-byte legacy form; anything else (wrong dtype, shape, size, or inconsistent
 * fields) is TC_ERR_CORRUPT (TC_ERR_UNSUPPORTED for a non-CPU tensor) naming the byte offset,
 * and leaves the generator unchanged. */
TC_API tc_status tc_generator_get_state(const tc_generator *g, tc_tensor **state);
TC_API tc_status tc_generator_set_state(tc_generator *g, const tc_tensor *state);

#ifdef __cplusplus
}
#endif
#endif
