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
 * Thread-safety: a state dict is a plain container; do not mutate one from two threads.
 */
#ifndef CTORCH_STATE_DICT_H
#define CTORCH_STATE_DICT_H

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_state_dict tc_state_dict;

TC_API tc_state_dict *tc_state_dict_create(void);
TC_API void tc_state_dict_destroy(tc_state_dict *sd); /* NULL-safe; releases the tensors */

/* Inserts or replaces name -> t (retained, not copied). Names are UTF-8, non-empty. */
TC_API tc_status tc_state_dict_set(tc_state_dict *sd, const char *name, const tc_tensor *t);
/* A new reference to the tensor under name, or NULL with TC_ERR_ARG ("no key 'x'"). */
TC_API tc_tensor *tc_state_dict_get(const tc_state_dict *sd, const char *name);
TC_API bool tc_state_dict_contains(const tc_state_dict *sd, const char *name);
TC_API tc_status tc_state_dict_remove(tc_state_dict *sd, const char *name);
/* Entries in insertion order (loading keeps the file's order: offsets ascending). */
TC_API int64_t tc_state_dict_size(const tc_state_dict *sd);
TC_API const char *tc_state_dict_key(const tc_state_dict *sd, int64_t i); /* valid while the entry lives */

/* String metadata (safetensors "__metadata__": string keys to string values). */
TC_API tc_status tc_state_dict_set_meta(tc_state_dict *sd, const char *key, const char *value);
TC_API const char *tc_state_dict_get_meta(const tc_state_dict *sd, const char *key); /* NULL when absent */

/* safetensors files. Saved tensors are written contiguous, little-endian; dtypes F32 F64 F16 BF16
 * I64 I32 I16 I8 U8 U16 BOOL C64. */
TC_API tc_status tc_state_dict_save(const tc_state_dict *sd, const char *path);
TC_API tc_state_dict *tc_state_dict_load(const char *path);
TC_API tc_state_dict *tc_state_dict_load_buffer(const void *data, size_t nbytes);

#ifdef __cplusplus
}
#endif
#endif
