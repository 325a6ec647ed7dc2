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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_generator tc_generator;

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

#ifdef __cplusplus
}
#endif
#endif
