/* ctorch/state_dict.h — named tensors, saved as safetensors (PyTorch's safetensors package reads
 * and writes the same bytes).
 *
 * A tc_state_dict is an ordered map from names to tensors plus string metadata (the safetensors
 * "__metadata__" block). Modules, optimizers, schedulers and checkpoints all save through it.
 *
 *   tc_state_dict *sd = tc_state_dict_create();
 *   tc_state_dict_set(sd, "fc.weight", w);               // retains w (no copy)
 *   tc_state_dict_set_meta(sd, "epoch", "3");
 *   tc_state_dict_save(sd, "model.safetensors");         // atomic: temp file, fsync, rename
 *   tc_state_dict_destroy(sd);
 *   tc_state_dict *back = tc_state_dict_load("model.safetensors");
 *   tc_tensor *w2 = tc_state_dict_get(back, "fc.weight"); // new reference
 *
 * Loading treats the file as hostile: a truncated or corrupt file, overlapping or out-of-range
 * offsets, an unknown dtype or a bad header give TC_ERR_CORRUPT / TC_ERR_UNSUPPORTED with the key
 * or byte offset in the message, and nothing is returned.
 * Thread-safety: a state dict is a plain container; do not mutate one from two threads (concurrent
 * reads, including saving, are fine).
 */
#ifndef CTORCH_STATE_DICT_H
#define CTORCH_STATE_DICT_H

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_state_dict tc_state_dict;

TC_API tc_state_dict *tc_state_dict_create(void); /* NULL with TC_ERR_NOMEM */
TC_API void tc_state_dict_destroy(tc_state_dict *sd); /* NULL-safe; releases the tensors */

/* Inserts or replaces name -> t (retained, not copied: later in-place writes to t are saved).
 * Replacing keeps the entry's position. Names are valid UTF-8 and non-empty; "__metadata__" is
 * reserved by the format (TC_ERR_ARG). A NULL t returns its producer's error. On TC_ERR_NOMEM the
 * dict is unchanged. */
TC_API tc_status tc_state_dict_set(tc_state_dict *sd, const char *name, const tc_tensor *t);
/* A new tensor sharing the stored tensor's storage (shape, strides, values; writes go through),
 * owned by the caller like any returned tensor (or by the current scope), or NULL with
 * TC_ERR_ARG ("no key 'x'"). */
TC_API tc_tensor *tc_state_dict_get(const tc_state_dict *sd, const char *name);
TC_API bool tc_state_dict_contains(const tc_state_dict *sd, const char *name);
TC_API tc_status tc_state_dict_remove(tc_state_dict *sd, const char *name);
/* Entries in insertion order (loading keeps the file's order: offsets ascending). size(NULL) is
 * -1; key() of an index outside [0, size) is NULL with TC_ERR_ARG. */
TC_API int64_t tc_state_dict_size(const tc_state_dict *sd);
TC_API const char *tc_state_dict_key(const tc_state_dict *sd, int64_t i); /* valid while the entry lives */

/* String metadata (safetensors "__metadata__": string keys to string values, valid UTF-8; keys
 * non-empty), kept in insertion order. Values are copied; a NULL value removes the key. */
TC_API tc_status tc_state_dict_set_meta(tc_state_dict *sd, const char *key, const char *value);
TC_API const char *tc_state_dict_get_meta(const tc_state_dict *sd, const char *key); /* NULL when absent */

/* safetensors files. Saved tensors are written contiguous, little-endian (views and CUDA tensors
 * are copied to the host one at a time); dtypes F32 F64 F16 BF16 I64 I32 I16 I8 U8 U16 BOOL C64.
 * The bytes are those safetensors.torch.save_file writes for the same dict: tensors sorted by
 * dtype, then name; metadata first, in this dict's order (the package's own metadata order is
 * arbitrary when there are several keys). The save is atomic: a temporary file next to path is
 * written, fsync'ed and renamed over path; on any failure (TC_ERR_IO naming the path, or
 * TC_ERR_NOMEM) the old file is untouched and no temporary is left. New files get mode 0666 less
 * the umask. */
TC_API tc_status tc_state_dict_save(const tc_state_dict *sd, const char *path);
/* Loaded tensors are new contiguous CPU tensors (the dict holds the only reference), each read
 * straight from the file into its storage; BOOL bytes other than 0 load as 1. Valid safetensors
 * dtypes ctorch lacks (U32, U64, F8_*, F4, F6_*) and more than TC_MAX_DIMS dims give
 * TC_ERR_UNSUPPORTED; a missing or unreadable file TC_ERR_IO. */
TC_API tc_state_dict *tc_state_dict_load(const char *path);
/* The same from a whole file's bytes in memory (copied: data may be freed afterwards). */
TC_API tc_state_dict *tc_state_dict_load_buffer(const void *data, size_t nbytes);

#ifdef __cplusplus
}
#endif
#endif
