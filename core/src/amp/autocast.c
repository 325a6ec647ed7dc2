/* core/src/amp/autocast.c — autocast scopes (thread-local) and the cast step of autocast ops.
 *
 * State: a stack of scopes per thread, each for one device type with a dtype and an enabled flag;
 * the innermost scope for a device type decides. tc__amp_active counts the enabled scopes and is
 * zeroed while suspended (inside an autocast op's own call, and during backward), so ops check
 * one integer on the fast path.
 *
 * Eligible inputs (as torch.autocast): defined floating-point tensors other than float64, on the
 * scope's device type. An op whose inputs are on a device type without an enabled scope is left
 * alone. Casts are ordinary recorded ops (tc_to_dtype), so gradients flow back to the original
 * dtype.
 */
#include "amp_internal.h"
#include "ctorch/amp.h"

#define MAX_SCOPES 64

typedef struct {
  tc_device_type type;
  tc_dtype dtype;
  bool enabled;
} scope;

static _Thread_local scope scopes[MAX_SCOPES];
static _Thread_local int nscopes;
static _Thread_local int suspended;
_Thread_local int tc__amp_active;

static tc_dtype default_dtype(tc_device_type t) { return t == TC_DEVICE_CUDA ? TC_F16 : TC_BF16; }

/* recomputes tc__amp_active from the stack */
static void refresh(void) {
  int n = 0;
  for (int i = 0; i < nscopes; i++) n += scopes[i].enabled;
  tc__amp_active = suspended ? 0 : n;
}

tc_status tc_autocast_push(tc_device_type device_type, tc_dtype dtype, bool enabled) {
  if (device_type != TC_DEVICE_CPU && device_type != TC_DEVICE_CUDA)
    return tc__error(TC_ERR_ARG, "tc_autocast_push: unknown device type %d", (int)device_type);
  if (dtype == TC_F32) dtype = default_dtype(device_type);
  if (dtype != TC_F16 && dtype != TC_BF16)
    return tc__error(TC_ERR_DTYPE, "tc_autocast_push: autocast runs in float16 or bfloat16, got %s",
                     tc_dtype_name(dtype));
  if (nscopes == MAX_SCOPES)
    return tc__error(TC_ERR_STATE, "tc_autocast_push: more than %d nested autocast scopes", MAX_SCOPES);
  scopes[nscopes++] = (scope){device_type, dtype, enabled};
  refresh();
  return TC_OK;
}

void tc_autocast_pop(void) {
  if (nscopes > 0) nscopes--;
  refresh();
}

/* the innermost scope for t, or NULL */
static const scope *innermost(tc_device_type t) {
  for (int i = nscopes - 1; i >= 0; i--)
    if (scopes[i].type == t) return &scopes[i];
  return NULL;
}

bool tc_autocast_is_enabled(tc_device_type device_type) {
  const scope *s = innermost(device_type);
  return s && s->enabled;
}

tc_dtype tc_autocast_get_dtype(tc_device_type device_type) {
  const scope *s = innermost(device_type);
  return s ? s->dtype : default_dtype(device_type);
}

void tc__amp_suspend(void) {
  suspended++;
  tc__amp_active = 0;
}

void tc__amp_resume(void) {
  if (suspended > 0) suspended--;
  refresh();
}

static bool eligible(const tc_tensor *t) {
  return t && tc_dtype_is_floating(t->dtype) && t->dtype != TC_F64;
}

bool tc__amp_begin_slow(tc__amp_call *c, tc__amp_policy policy, int n, const tc_tensor *a, const tc_tensor *b,
                        const tc_tensor *d) {
  const tc_tensor *ins[TC__AMP_MAX_IN] = {a, b, d};
  const tc_tensor *first = NULL;
  for (int i = 0; i < n && !first; i++) first = ins[i];
  if (!first) return false;
  const scope *s = innermost(first->storage->device.type);
  if (!s || !s->enabled || (policy == TC__AMP_F32_CUDA && s->type != TC_DEVICE_CUDA)) return false;
  tc_dtype want = policy == TC__AMP_LOWER ? s->dtype : TC_F32;
  bool any = false;
  for (int i = 0; i < n; i++) any |= eligible(ins[i]) && ins[i]->dtype != want;
  if (!any) return false; /* nothing to cast: the op runs as it is */
  c->ok = true;
  for (int i = 0; i < TC__AMP_MAX_IN; i++) {
    c->in[i] = i < n ? ins[i] : NULL;
    c->own[i] = NULL;
  }
  for (int i = 0; i < n && c->ok; i++) {
    if (!eligible(ins[i]) || ins[i]->dtype == want) continue;
    if (!(c->own[i] = tc_to_dtype(ins[i], want))) c->ok = false;
    c->in[i] = c->own[i];
  }
  tc__amp_suspend();
  return true;
}

tc_tensor *tc__amp_end(tc__amp_call *c, tc_tensor *result) {
  tc__amp_resume();
  for (int i = 0; i < TC__AMP_MAX_IN; i++) tc_tensor_release(c->own[i]);
  return result;
}
