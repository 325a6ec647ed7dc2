/* ctorch/status.h — error codes and the thread-local error message.
 *
 * Every fallible ctorch call (in all six libraries) reports failure the same way:
 *   - calls that make a tensor or object return it, or NULL on failure;
 *   - other calls return a tc_status: TC_OK (0) or a negative TC_ERR_* code.
 * On failure, tc_last_error() returns a message naming the function and the values involved, e.g.
 *   "tc_matmul: a is [2, 3], b is [4, 5]: 3 != 4".
 * The message and code are thread-local. An op given a NULL input returns NULL and keeps the first
 * message, so a chain of calls can be checked once at its end:
 *
 *   tc_tensor *y = tc_relu(tc_add(tc_matmul(x, w), b));
 *   if (!y) fprintf(stderr, "%s\n", tc_last_error());
 *
 * The libraries never print, exit or abort on user input.
 */
#ifndef CTORCH_STATUS_H
#define CTORCH_STATUS_H

#include "ctorch/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tc_status {
  TC_OK = 0,
  TC_ERR_ARG = -1,         /* an argument is invalid (NULL, out of range, unknown option) */
  TC_ERR_SHAPE = -2,       /* shapes do not match or cannot broadcast */
  TC_ERR_DTYPE = -3,       /* dtype not supported by the op, or cannot be cast */
  TC_ERR_DEVICE = -4,      /* device mismatch or device not available */
  TC_ERR_NOMEM = -5,       /* an allocation failed */
  TC_ERR_IO = -6,          /* a file could not be opened, read or written */
  TC_ERR_CORRUPT = -7,     /* input data is malformed or truncated */
  TC_ERR_UNSUPPORTED = -8, /* valid request that this build or device cannot do */
  TC_ERR_CUDA = -9,        /* the CUDA runtime reported an error */
  TC_ERR_STATE = -10       /* the object is in the wrong state for this call */
} tc_status;

/* The message of the last failure on this thread ("" when none). Valid until the next failing
 * call on this thread. Never NULL. */
TC_API const char *tc_last_error(void);

/* The code of the last failure on this thread (TC_OK when none). */
TC_API tc_status tc_last_status(void);

/* Forgets the last failure on this thread. */
TC_API void tc_clear_error(void);

/* A short constant name for a status code: "TC_ERR_SHAPE". */
TC_API const char *tc_status_name(tc_status s);

/* Sets the thread's error (for libraries built on ctorch: transforms, datasets, domains).
 * printf-style. Returns `code` so it can be used as `return tc_set_error(...)`. */
TC_API tc_status tc_set_error(tc_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Optional log sink. ctorch prints nothing by itself; warnings (e.g. a non-fatal fallback) go to
 * this callback when one is set. Thread-safe to call; set it once at start-up. */
typedef void (*tc_log_fn)(int level, const char *msg, void *user);
TC_API void tc_set_log_callback(tc_log_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
