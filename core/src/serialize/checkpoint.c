/* core/src/serialize/checkpoint.c — training checkpoints (ctorch/checkpoint.h).
 *
 * Save: one tc_state_dict gathers the model ("model."), optimizer ("optim."), scheduler ("sched.",
 * metadata only), the default generator ("rng.cpu") and the counters, then tc_state_dict_save
 * writes it atomically (temporary file, fsync, rename).
 *
 * Load is all-or-nothing. Phase 1 checks everything that can be checked without touching the
 * objects: the file parses, the format marker, step/epoch, every model key with its shape and
 * dtype (missing and unexpected keys), every optimizer state tensor against its parameter, the
 * scheduler's kind, and the generator blob (set into a scratch generator). Phase 2 snapshots the
 * optimizer and scheduler, then applies optimizer, scheduler, model (each loader is itself atomic)
 * and, last, the generator state (validated, so it cannot fail). Should a later loader fail (only
 * a malformed field the loaders detect, or TC_ERR_NOMEM), the earlier ones, and a model the
 * module loader left half copied, are rolled back from the snapshots, so a failed load changes
 * nothing. (The rollback allocates too: only a second allocation failure during it could leave
 * a partial state.)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctorch/checkpoint.h"
#include "internal.h"

#define FORMAT_NAME "ctorch.checkpoint"
#define FORMAT_VERSION "1"
#define MODEL_PRE "model."
#define OPTIM_PRE "optim."
#define SCHED_PRE "sched."
#define RNG_KEY "rng.cpu"

static tc_status set_meta_int(tc_state_dict *sd, const char *key, int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  return tc_state_dict_set_meta(sd, key, buf);
}

static tc_status save_body(tc_state_dict *sd, const char *path, const tc_module *model, const tc_optimizer *opt,
                           const tc_lr_scheduler *sched, int64_t step, int64_t epoch) {
  tc_status st;
  if ((st = tc_state_dict_set_meta(sd, "format", FORMAT_NAME))) return st;
  if ((st = tc_state_dict_set_meta(sd, "format_version", FORMAT_VERSION))) return st;
  if ((st = set_meta_int(sd, "step", step))) return st;
  if ((st = set_meta_int(sd, "epoch", epoch))) return st;
  if ((st = tc_module_state_dict(model, sd, MODEL_PRE))) return st;
  if (opt && (st = tc_optim_state_dict(opt, sd, OPTIM_PRE))) return st;
  if (sched && (st = tc_lr_scheduler_state_dict(sched, sd, SCHED_PRE))) return st;
  tc_tensor *rng = NULL;
  if ((st = tc_generator_get_state(NULL, &rng))) return st;
  st = tc_state_dict_set(sd, RNG_KEY, rng);
  tc_tensor_release(rng);
  if (st) return st;
  return tc_state_dict_save(sd, path);
}

tc_status tc_checkpoint_save(const char *path, const tc_module *model, const tc_optimizer *opt,
                             const tc_lr_scheduler *sched, int64_t step, int64_t epoch) {
  const char *fn = "tc_checkpoint_save";
  TC__NONNULL_S(path, fn);
  TC__NONNULL_S(model, fn);
  int was = tc__scope_pause();
  tc_state_dict *sd = tc_state_dict_create();
  tc_status st = sd ? save_body(sd, path, model, opt, sched, step, epoch) : tc_last_status();
  tc_state_dict_destroy(sd);
  tc__scope_resume(was);
  return st;
}

/* ---- load ---------------------------------------------------------------------------------------- */

static tc_status get_meta_int(const char *fn, const tc_state_dict *sd, const char *key, int64_t *out) {
  const char *v = tc_state_dict_get_meta(sd, key);
  if (!v) return tc__error(TC_ERR_ARG, "%s: the checkpoint lacks metadata '%s'", fn, key);
  errno = 0;
  char *end = NULL;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno)
    return tc__error(TC_ERR_CORRUPT, "%s: metadata '%s' is '%s', not an integer", fn, key, v);
  *out = (int64_t)x;
  return TC_OK;
}

static bool same_shape(const tc_tensor *a, const tc_tensor *b) {
  return a->ndim == b->ndim && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * (size_t)a->ndim);
}

/* The stored tensor `key` must exist with want's shape and dtype. */
static tc_status check_tensor(const char *fn, const tc_state_dict *ck, const char *key, const tc_tensor *want,
                              const char *what) {
  if (!tc_state_dict_contains(ck, key))
    return tc__error(TC_ERR_ARG, "%s: the checkpoint lacks '%s' (%s of shape %s)", fn, key, what, tc__tshape(want));
  tc_tensor *t = tc_state_dict_get(ck, key);
  if (!t) return tc_last_status();
  tc_status st = TC_OK;
  if (!same_shape(t, want))
    st = tc__error(TC_ERR_SHAPE, "%s: '%s' has shape %s in the checkpoint but %s %s", fn, key, tc__tshape(t), what,
                   tc__tshape(want));
  else if (t->dtype != want->dtype)
    st = tc__error(TC_ERR_DTYPE, "%s: '%s' is %s in the checkpoint but %s is %s", fn, key, tc_dtype_name(t->dtype),
                   what, tc_dtype_name(want->dtype));
  tc_tensor_release(t);
  return st;
}

static tc_status check_model(const char *fn, const tc_state_dict *ck, const tc_module *model) {
  tc_state_dict *own = tc_state_dict_create();
  if (!own) return tc_last_status();
  tc_status st = tc_module_state_dict(model, own, MODEL_PRE);
  for (int64_t i = 0; !st && i < tc_state_dict_size(own); i++) {
    const char *key = tc_state_dict_key(own, i);
    tc_tensor *w = tc_state_dict_get(own, key);
    if (!w) {
      st = tc_last_status();
      break;
    }
    st = check_tensor(fn, ck, key, w, "the model's tensor has");
    tc_tensor_release(w);
  }
  for (int64_t i = 0; !st && i < tc_state_dict_size(ck); i++) {
    const char *key = tc_state_dict_key(ck, i);
    if (!strncmp(key, MODEL_PRE, strlen(MODEL_PRE)) && !tc_state_dict_contains(own, key))
      st = tc__error(TC_ERR_ARG, "%s: unexpected key '%s': the model (%s) has no such parameter or buffer", fn, key,
                     tc_module_type(model));
  }
  tc_state_dict_destroy(own);
  return st;
}

/* Parameter i counting over all groups (the optimizer's state numbering). */
static const tc_tensor *optim_param(const tc_optimizer *opt, int64_t i) {
  for (int64_t g = 0; g < tc_optim_num_groups(opt); g++) {
    int64_t n = tc_optim_group_size(opt, g);
    if (i < n) return tc_optim_group_param(opt, g, i);
    i -= n;
  }
  return NULL;
}

static tc_status check_optim(const char *fn, const tc_state_dict *ck, const tc_optimizer *opt) {
  const char *kind = tc_state_dict_get_meta(ck, OPTIM_PRE "optimizer");
  if (!kind) return tc__error(TC_ERR_ARG, "%s: the checkpoint lacks '" OPTIM_PRE "optimizer' (no optimizer state)", fn);
  if (strcmp(kind, tc_optim_name(opt)))
    return tc__error(TC_ERR_STATE, "%s: '" OPTIM_PRE "optimizer' is %s, the optimizer is %s", fn, kind,
                     tc_optim_name(opt));
  const size_t plen = strlen(OPTIM_PRE "state.");
  for (int64_t k = 0; k < tc_state_dict_size(ck); k++) {
    const char *key = tc_state_dict_key(ck, k);
    if (strncmp(key, OPTIM_PRE, strlen(OPTIM_PRE))) continue;
    char *end = NULL;
    long long i = -1;
    if (!strncmp(key, OPTIM_PRE "state.", plen) && key[plen] >= '0' && key[plen] <= '9') i = strtoll(key + plen, &end, 10);
    const tc_tensor *p = i >= 0 && end && *end == '.' ? optim_param(opt, i) : NULL;
    if (!p) {
      int64_t n = 0;
      for (int64_t g = 0; g < tc_optim_num_groups(opt); g++) n += tc_optim_group_size(opt, g);
      return tc__error(TC_ERR_ARG, "%s: unexpected key '%s': the optimizer has %lld parameters", fn, key, (long long)n);
    }
    tc_status st = check_tensor(fn, ck, key, p, "the optimizer's parameter has");
    if (st) return st;
  }
  return TC_OK;
}

static tc_status check_sched(const char *fn, const tc_state_dict *ck, const tc_lr_scheduler *sched) {
  const char *type = tc_state_dict_get_meta(ck, SCHED_PRE "type");
  if (!type) return tc__error(TC_ERR_ARG, "%s: the checkpoint lacks '" SCHED_PRE "type' (no scheduler state)", fn);
  if (strcmp(type, tc_lr_scheduler_name(sched)))
    return tc__error(TC_ERR_STATE, "%s: '" SCHED_PRE "type' is %s, the scheduler is %s", fn, type,
                     tc_lr_scheduler_name(sched));
  return TC_OK;
}

static tc_status check_rng(const char *fn, const tc_state_dict *ck, tc_tensor **blob) {
  if (!tc_state_dict_contains(ck, RNG_KEY)) return tc__error(TC_ERR_ARG, "%s: the checkpoint lacks '" RNG_KEY "'", fn);
  *blob = tc_state_dict_get(ck, RNG_KEY);
  if (!*blob) return tc_last_status();
  tc_generator *scratch = tc_generator_create(0);
  if (!scratch) return tc_last_status();
  tc_status st = tc_generator_set_state(scratch, *blob);
  tc_generator_destroy(scratch);
  if (st) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    return tc__error(st, "%s: '" RNG_KEY "': %s", fn, msg);
  }
  return TC_OK;
}

/* Copies (clones) of the model's tensors into snap under MODEL_PRE: the module loader checks
 * before it copies, but an allocation failure while copying could leave it half done. */
static tc_status snapshot_model(const tc_module *model, tc_state_dict *snap) {
  tc_state_dict *own = tc_state_dict_create();
  if (!own) return tc_last_status();
  tc_status st = tc_module_state_dict(model, own, MODEL_PRE);
  tc_no_grad_push(); /* plain copies, no graph */
  for (int64_t i = 0; !st && i < tc_state_dict_size(own); i++) {
    const char *key = tc_state_dict_key(own, i);
    tc_tensor *t = tc_state_dict_get(own, key);
    tc_tensor *c = t ? tc_clone(t) : NULL;
    st = c ? tc_state_dict_set(snap, key, c) : tc_last_status();
    tc_tensor_release(t);
    tc_tensor_release(c);
  }
  tc_no_grad_pop();
  tc_state_dict_destroy(own);
  return st;
}

/* Restores model, opt and sched (any may be NULL) from the snapshot, keeping the error that made the
 * load fail as the thread's error. */
static void rollback(const tc_state_dict *snap, tc_module *model, tc_optimizer *opt, tc_lr_scheduler *sched,
                     tc_status st) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", tc_last_error());
  if (model) tc_module_load_state_dict(model, snap, MODEL_PRE, true, NULL, NULL);
  if (sched) tc_lr_scheduler_load_state_dict(sched, snap, SCHED_PRE);
  if (opt) tc_optim_load_state_dict(opt, snap, OPTIM_PRE);
  tc__error(st, "%s", msg);
}

static tc_status load_body(const char *fn, const tc_state_dict *ck, tc_module *model, tc_optimizer *opt,
                           tc_lr_scheduler *sched, int64_t *step, int64_t *epoch) {
  tc_status st;
  const char *fmt = tc_state_dict_get_meta(ck, "format");
  if (!fmt || strcmp(fmt, FORMAT_NAME))
    return tc__error(TC_ERR_CORRUPT, "%s: metadata 'format' is %s%s%s, not '" FORMAT_NAME "'", fn, fmt ? "'" : "",
                     fmt ? fmt : "missing", fmt ? "'" : "");
  const char *ver = tc_state_dict_get_meta(ck, "format_version");
  if (!ver || strcmp(ver, FORMAT_VERSION))
    return tc__error(TC_ERR_UNSUPPORTED, "%s: metadata 'format_version' is %s, this ctorch reads " FORMAT_VERSION, fn,
                     ver ? ver : "missing");
  int64_t s = 0, e = 0;
  if ((st = get_meta_int(fn, ck, "step", &s)) || (st = get_meta_int(fn, ck, "epoch", &e))) return st;
  if ((st = check_model(fn, ck, model))) return st;
  if (opt && (st = check_optim(fn, ck, opt))) return st;
  if (sched && (st = check_sched(fn, ck, sched))) return st;
  tc_tensor *blob = NULL;
  tc_state_dict *snap = NULL;
  if ((st = check_rng(fn, ck, &blob))) goto done;
  /* phase 2: snapshot, then apply */
  if (!(snap = tc_state_dict_create())) {
    st = tc_last_status();
    goto done;
  }
  if ((opt && (st = tc_optim_state_dict(opt, snap, OPTIM_PRE))) ||
      (sched && (st = tc_lr_scheduler_state_dict(sched, snap, SCHED_PRE))) || (st = snapshot_model(model, snap)))
    goto done;
  if (opt && (st = tc_optim_load_state_dict(opt, ck, OPTIM_PRE))) goto done;
  if (sched && (st = tc_lr_scheduler_load_state_dict(sched, ck, SCHED_PRE))) {
    rollback(snap, NULL, opt, NULL, st);
    goto done;
  }
  if ((st = tc_module_load_state_dict(model, ck, MODEL_PRE, true, NULL, NULL))) {
    rollback(snap, model, opt, sched, st);
    goto done;
  }
  st = tc_generator_set_state(NULL, blob); /* validated above: succeeds */
  if (!st) {
    if (step) *step = s;
    if (epoch) *epoch = e;
  }
done:
  tc_tensor_release(blob);
  tc_state_dict_destroy(snap);
  return st;
}

tc_status tc_checkpoint_load(const char *path, tc_module *model, tc_optimizer *opt, tc_lr_scheduler *sched,
                             int64_t *step, int64_t *epoch) {
  const char *fn = "tc_checkpoint_load";
  TC__NONNULL_S(path, fn);
  TC__NONNULL_S(model, fn);
  int was = tc__scope_pause();
  tc_state_dict *ck = tc_state_dict_load(path);
  tc_status st = ck ? load_body(fn, ck, model, opt, sched, step, epoch) : tc_last_status();
  tc_state_dict_destroy(ck);
  tc__scope_resume(was);
  return st;
}
