/* core/src/error.c — the thread-local error message and code, and the log sink. */
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"

#define TC__ERR_LEN 1024

static _Thread_local char err_msg[TC__ERR_LEN];
static _Thread_local tc_status err_code = TC_OK;

static tc_log_fn log_fn;
static void *log_user;

const char *tc_last_error(void) { return err_msg; }
tc_status tc_last_status(void) { return err_code; }

void tc_clear_error(void) {
  err_msg[0] = '\0';
  err_code = TC_OK;
}

static tc_status set_verror(tc_status code, const char *fmt, va_list ap) {
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  err_code = code;
  return code;
}

tc_status tc__error(tc_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_verror(code, fmt, ap);
  va_end(ap);
  return code;
}

tc_status tc_set_error(tc_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_verror(code, fmt, ap);
  va_end(ap);
  return code;
}

tc_status tc__null_arg(const char *fn, const char *name) {
  /* A NULL input usually means an earlier call failed: keep its message. */
  if (err_code != TC_OK) return err_code;
  return tc__error(TC_ERR_ARG, "%s: %s is NULL", fn, name);
}

const char *tc_status_name(tc_status s) {
  switch (s) {
    case TC_OK: return "TC_OK";
    case TC_ERR_ARG: return "TC_ERR_ARG";
    case TC_ERR_SHAPE: return "TC_ERR_SHAPE";
    case TC_ERR_DTYPE: return "TC_ERR_DTYPE";
    case TC_ERR_DEVICE: return "TC_ERR_DEVICE";
    case TC_ERR_NOMEM: return "TC_ERR_NOMEM";
    case TC_ERR_IO: return "TC_ERR_IO";
    case TC_ERR_CORRUPT: return "TC_ERR_CORRUPT";
    case TC_ERR_UNSUPPORTED: return "TC_ERR_UNSUPPORTED";
    case TC_ERR_CUDA: return "TC_ERR_CUDA";
    case TC_ERR_STATE: return "TC_ERR_STATE";
  }
  return "TC_ERR_UNKNOWN";
}

const char *tc__shape_str(const int64_t *sizes, int ndim) {
  static _Thread_local char bufs[8][TC_MAX_DIMS * 22 + 4];
  static _Thread_local int next;
  char *b = bufs[next];
  next = (next + 1) % 8;
  size_t cap = sizeof bufs[0], len = 0;
  b[len++] = '[';
  for (int i = 0; i < ndim && len < cap; i++)
    len += (size_t)snprintf(b + len, cap - len, i ? ", %lld" : "%lld", (long long)sizes[i]);
  if (len < cap - 1) b[len++] = ']';
  b[len < cap ? len : cap - 1] = '\0';
  return b;
}

const char *tc__tshape(const tc_tensor *t) { return t ? tc__shape_str(t->sizes, t->ndim) : "(null)"; }

void tc_set_log_callback(tc_log_fn fn, void *user) {
  log_fn = fn;
  log_user = user;
}

void tc__log(int level, const char *fmt, ...) {
  if (!log_fn) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_fn(level, msg, log_user);
}

_Noreturn void tc__assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "ctorch: internal error: %s (%s:%d)\n", cond, file, line);
  abort(); /* internal invariant broken: a ctorch bug, never user input */
}

const char *tc_version(void) { return "0.1.0"; }
