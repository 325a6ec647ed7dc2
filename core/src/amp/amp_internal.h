/* core/src/amp/amp_internal.h — the autocast hook the ops call at their public entry.
 *
 *   tc_tensor *tc_mm(const tc_tensor *a, const tc_tensor *b) {
 *     tc__amp_call am;
 *     if (tc__amp_begin(&am, TC__AMP_LOWER, 2, a, b, NULL))   // autocast applies: inputs cast
 *       return tc__amp_end(&am, am.ok ? tc_mm(am.in[0], am.in[1]) : NULL);
 *     ...                                                      // the op itself
 *
 * tc__amp_begin costs one thread-local load when no scope is active. When it returns true, the op
 * calls itself on the cast inputs: autocast is suspended until tc__amp_end, so the inner call runs
 * the op; tc__amp_end releases the casts and returns the result.
 */
#ifndef CTORCH_AMP_INTERNAL_H
#define CTORCH_AMP_INTERNAL_H

#include "internal.h"

/* LOWER: the scope's dtype; F32: float32 on every device (losses); F32_CUDA: float32 under CUDA's
 * autocast, the input's dtype under the CPU's (softmax, log_softmax, layer_norm: as torch's lists). */
typedef enum { TC__AMP_LOWER = 0, TC__AMP_F32, TC__AMP_F32_CUDA } tc__amp_policy;

#define TC__AMP_MAX_IN 3
typedef struct {
  const tc_tensor *in[TC__AMP_MAX_IN]; /* the inputs to use (cast copies or the originals) */
  tc_tensor *own[TC__AMP_MAX_IN];      /* casts to release */
  bool ok;                             /* false: a cast failed (its error is set) */
} tc__amp_call;

/* Number of active autocast scopes on this thread that are not suspended (0: nothing to do). */
extern _Thread_local int tc__amp_active;

bool tc__amp_begin_slow(tc__amp_call *c, tc__amp_policy policy, int n, const tc_tensor *a, const tc_tensor *b,
                        const tc_tensor *d);
static inline bool tc__amp_begin(tc__amp_call *c, tc__amp_policy policy, int n, const tc_tensor *a,
                                 const tc_tensor *b, const tc_tensor *d) {
  return tc__amp_active > 0 && tc__amp_begin_slow(c, policy, n, a, b, d);
}
tc_tensor *tc__amp_end(tc__amp_call *c, tc_tensor *result);

/* Autocast off on this thread until resume (backward runs this way); nests. */
void tc__amp_suspend(void);
void tc__amp_resume(void);

#endif
