/* core/src/serialize/state_dict_internal.h — the tc_state_dict struct, shared by the container
 * (state_dict.c) and the safetensors reader/writer (safetensors.c). Not installed.
 *
 * Entries live in an array in insertion order; an open-addressing hash table (linear probing,
 * at most half full) maps names to array indices so set/get/contains stay O(1) for state dicts
 * with thousands of entries. Metadata is a small array searched linearly.
 */
#ifndef CTORCH_STATE_DICT_INTERNAL_H
#define CTORCH_STATE_DICT_INTERNAL_H

#include "ctorch/state_dict.h"
#include "internal.h"

typedef struct {
  char *name;   /* owned (tc__malloc) */
  tc_tensor *t; /* one reference owned by the dict */
} tc__sd_entry;

typedef struct {
  char *key, *value; /* owned */
} tc__sd_meta;

struct tc_state_dict {
  tc__sd_entry *entries;
  int64_t n, cap;
  int64_t *slots; /* nslots (a power of two) cells: entry index + 1, or 0 when empty */
  int64_t nslots;
  tc__sd_meta *meta;
  int64_t nmeta, capmeta;
};

/* Makes room for `extra` more entries (array and hash slots) so that the next `extra`
 * tc__sd_append calls cannot fail. TC_ERR_NOMEM leaves the dict as it was. */
tc_status tc__sd_reserve(tc_state_dict *sd, int64_t extra);
/* Appends name -> t, taking over `name` (tc__malloc'd) and one reference to t. The name must be
 * absent and room reserved. */
void tc__sd_append(tc_state_dict *sd, char *name, tc_tensor *t);
/* Same for metadata (no duplicate check: the caller guarantees distinct keys). */
tc_status tc__sd_meta_reserve(tc_state_dict *sd, int64_t extra);
void tc__sd_meta_append(tc_state_dict *sd, char *key, char *value);

/* s[0, n) is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): what
 * JSON readers (jansson, serde_json) accept back. */
bool tc__utf8_valid(const char *s, size_t n);

#endif
