/* datasets/src/sample.c — samples: a few named fields, each a tr_value the sample owns. */
#include <string.h>
#include "datasets_internal.h"

void td_sample_init(td_sample *s) {
  if (s) memset(s, 0, sizeof *s);
}

tc_status td_sample_set(td_sample *s, const char *name, tr_value v) {
  /* the sample owns the value: a tensor made inside a scope of the caller leaves that scope */
  if (v.kind == TR_TENSOR) tc_scope_keep(v.tensor);
  if (!s || !name) {
    tr_value_clear(&v);
    return tc_set_error(TC_ERR_ARG, "td_sample_set: %s is NULL", s ? "name" : "the sample");
  }
  if (strlen(name) >= TD_FIELD_NAME) {
    tr_value_clear(&v);
    return tc_set_error(TC_ERR_ARG, "td_sample_set: field name '%s' is longer than %d characters", name,
                        TD_FIELD_NAME - 1);
  }
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->names[i], name)) {
      tr_value_clear(&s->values[i]);
      s->values[i] = v;
      return TC_OK;
    }
  if (s->n == TD_MAX_FIELDS) {
    tr_value_clear(&v);
    return tc_set_error(TC_ERR_ARG, "td_sample_set: a sample holds at most %d fields ('%s' is one too many)",
                        TD_MAX_FIELDS, name);
  }
  strcpy(s->names[s->n], name);
  s->values[s->n++] = v;
  return TC_OK;
}

const tr_value *td_sample_field(const td_sample *s, const char *name) {
  for (int i = 0; s && name && i < s->n; i++)
    if (!strcmp(s->names[i], name)) return &s->values[i];
  return NULL;
}

void td_sample_clear(td_sample *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) tr_value_clear(&s->values[i]);
  td_sample_init(s);
}
