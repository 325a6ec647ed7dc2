/* core/src/nn/data_parallel.c — DataParallel: scatter the batch over devices, run the module on
 * each with replicated parameters, gather the outputs (torch.nn.DataParallel).
 *
 * Replication swaps device copies into the module's parameter and buffer slots for the duration of
 * one chunk's forward (tc__module_for_each_slot) and puts the originals back afterwards. The copies
 * are recorded ops (tc_tensor_to), so backward carries each replica's gradient back to devices[0]
 * and accumulates it into the original parameter: no separate reduction step. Chunks run one after
 * another on the calling thread; device kernels are asynchronous, so devices overlap.
 */
#include <stdio.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_layers.h"

void tc__module_for_each_slot(tc_module *m, void (*fn)(tc_tensor **slot, bool is_param, void *ctx), void *ctx);

#define DP_MAX_DEVICES 16
#define DP_MAX_INPUTS 8

typedef struct {
  tc_device dev[DP_MAX_DEVICES];
  int64_t n; /* 0: call the module as it is */
} dp_state;

/* ---- swapping replicas in and out -------------------------------------------------------------------- */
typedef enum { SWAP_COUNT, SWAP_IN, SWAP_RESTORE } swap_phase;
typedef struct {
  swap_phase phase;
  tc_device dev;
  tc_tensor **saved; /* originals, in slot order */
  int64_t n;
  tc_status st;
} swap_ctx;

static void swap_slot(tc_tensor **slot, bool is_param, void *vctx) {
  swap_ctx *c = vctx;
  if (c->phase == SWAP_COUNT) {
    c->n++;
    return;
  }
  if (c->phase == SWAP_RESTORE) {
    tc_tensor_release(*slot); /* the replica (the graph keeps what it needs) */
    *slot = c->saved[c->n++];
    return;
  }
  tc_tensor *orig = *slot, *rep = NULL;
  c->saved[c->n++] = orig;
  if (orig && c->st == TC_OK && !tc_device_equal(orig->storage->device, c->dev)) {
    if (!is_param) tc_no_grad_push(); /* buffers: plain copies */
    rep = tc_tensor_to(orig, c->dev);
    if (!is_param) tc_no_grad_pop();
    if (!rep) c->st = tc_last_status();
  }
  *slot = rep ? rep : (orig ? tc_tensor_retain(orig) : NULL);
}

/* Runs m on inputs (already on dev) with its parameters and buffers on dev. */
static tc_tensor *forward_on(tc_module *m, tc_device dev, const tc_tensor *const *in, int64_t n) {
  swap_ctx c = {.phase = SWAP_COUNT, .dev = dev};
  tc__module_for_each_slot(m, swap_slot, &c);
  if (!(c.saved = tc__malloc(sizeof(tc_tensor *) * (size_t)(c.n + 1)))) return NULL;
  c.phase = SWAP_IN, c.n = 0;
  tc__module_for_each_slot(m, swap_slot, &c);
  tc_status st = c.st;
  tc_tensor *out = st == TC_OK ? tc_module_forward_n(m, in, n) : NULL;
  c.phase = SWAP_RESTORE, c.n = 0;
  tc__module_for_each_slot(m, swap_slot, &c);
  tc__free(c.saved);
  if (st) {
    char why[256];
    snprintf(why, sizeof why, "%s", tc_last_error());
    tc__error(st, "DataParallel: replicating the module to a device failed: %s", why);
  }
  return out;
}

/* ---- forward ------------------------------------------------------------------------------------------ */
static tc_tensor *dp_forward(tc_module *self, const tc_tensor *const *in, int64_t n) {
  const dp_state *s = tc_module_state(self);
  tc_module *m = tc_module_child(self, "module");
  if (s->n == 0) return tc_module_forward_n(m, in, n);
  if (n < 1 || n > DP_MAX_INPUTS) {
    tc__error(TC_ERR_ARG, "DataParallel: expected 1 to %d inputs, got %lld", DP_MAX_INPUTS, (long long)n);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) {
    if (!in[i] || in[i]->ndim == 0) {
      tc__error(TC_ERR_ARG, "DataParallel: input %lld must be a tensor with a batch dim", (long long)i);
      return NULL;
    }
    if (in[i]->sizes[0] != in[0]->sizes[0]) {
      tc__error(TC_ERR_SHAPE, "DataParallel: inputs disagree on the batch size (%lld vs %lld)",
                (long long)in[i]->sizes[0], (long long)in[0]->sizes[0]);
      return NULL;
    }
  }
  tc_scope_push();
  tc_tensor_list chunks[DP_MAX_INPUTS] = {{0}};
  tc_tensor *outs[DP_MAX_DEVICES] = {NULL}, *result = NULL;
  int64_t k = 0;
  tc_status st = TC_OK;
  for (int64_t i = 0; i < n && !st; i++) st = tc_chunk(in[i], s->n, 0, &chunks[i]);
  if (!st) k = chunks[0].n; /* a batch smaller than the device count uses fewer devices */
  for (int64_t d = 0; d < k && !st; d++) {
    const tc_tensor *xs[DP_MAX_INPUTS];
    for (int64_t i = 0; i < n && !st; i++)
      if (!(xs[i] = tc_tensor_to(chunks[i].data[d], s->dev[d]))) st = tc_last_status();
    if (!st && !(outs[d] = forward_on(m, s->dev[d], xs, n))) st = tc_last_status();
    if (!st && !(outs[d] = tc_tensor_to(outs[d], s->dev[0]))) st = tc_last_status();
  }
  if (!st) result = k == 1 ? outs[0] : tc_cat((const tc_tensor *const *)outs, k, 0);
  for (int64_t i = 0; i < n; i++) tc_tensor_list_clear(&chunks[i]);
  return tc_scope_return(result);
}

/* ---- construction -------------------------------------------------------------------------------------- */
static bool on_device(tc_module *m, tc_device dev) {
  tc_named_tensors ps = {0};
  if (tc_module_named_parameters(m, &ps)) return false;
  bool ok = true;
  for (int64_t i = 0; i < ps.n && ok; i++) ok = tc_device_equal(ps.tensors[i]->storage->device, dev);
  tc_named_tensors_clear(&ps);
  return ok;
}

tc_module *tc_data_parallel_create(tc_module *module, const tc_device *devices, int64_t n_devices) {
  const char *fn = "tc_data_parallel_create";
  if (!module) {
    tc__error(TC_ERR_ARG, "%s: module is NULL", fn);
    return NULL;
  }
  dp_state *s = tc__calloc(sizeof *s);
  if (!s) goto fail;
  if (n_devices < 0 || n_devices > DP_MAX_DEVICES || (n_devices > 0 && !devices)) {
    tc__error(TC_ERR_ARG, "%s: expected 0 to %d devices, got %lld", fn, DP_MAX_DEVICES, (long long)n_devices);
    goto fail;
  }
  if (n_devices == 0) {
    int gpus = tc_cuda_device_count();
    s->n = gpus > DP_MAX_DEVICES ? DP_MAX_DEVICES : gpus;
    for (int64_t i = 0; i < s->n; i++) s->dev[i] = tc_cuda((int)i);
  } else {
    s->n = n_devices;
    for (int64_t i = 0; i < n_devices; i++) {
      if (tc__check_device(fn, devices[i])) goto fail;
      s->dev[i] = devices[i];
    }
  }
  if (s->n > 0 && !on_device(module, s->dev[0])) {
    char b[32];
    tc__error(TC_ERR_DEVICE, "%s: the module's parameters must be on devices[0] (%s): move it there first", fn,
              tc_device_str(s->dev[0], b, sizeof b));
    goto fail;
  }
  tc_module *dp = tc_module_create("DataParallel", dp_forward, s, tc__free);
  if (!dp) goto fail;
  if (tc_module_add_child(dp, "module", module)) {
    tc_module_destroy(dp); /* frees s */
    return NULL;
  }
  return dp;
fail:
  tc__free(s);
  return NULL;
}
