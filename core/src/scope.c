/* core/src/scope.c — per-thread scopes that release the temporaries created inside them.
 *
 * The scope stack is one growing array of tensor pointers per thread plus the start index of each
 * open scope. Recording is O(1); keep/forget search from the top (recent tensors are near the end).
 */
#include <stdlib.h>
#include "internal.h"

#define MAX_DEPTH 64

typedef struct {
  tc_tensor **items;
  int64_t n, cap;
  int64_t starts[MAX_DEPTH];
  int depth;
  int overflow; /* pushes beyond MAX_DEPTH (ignored, but balanced) */
} scope_stack;

static _Thread_local scope_stack st;
static _Thread_local int paused; /* the autograd engine manages its references itself */

int tc__scope_pause(void) {
  int was = paused;
  paused = 1;
  return was;
}
void tc__scope_resume(int was) { paused = was; }

void tc_scope_push(void) {
  if (st.depth >= MAX_DEPTH) {
    st.overflow++;
    return;
  }
  st.starts[st.depth++] = st.n;
}

int tc_scope_depth(void) { return st.depth + st.overflow; }

void tc__scope_record(tc_tensor *t) {
  /* a pointer already held by a scope is never recorded twice (one entry, one reference) */
  if (st.depth == 0 || st.overflow || paused || atomic_load(&t->scoped)) return;
  if (st.n == st.cap) {
    int64_t cap = st.cap ? st.cap * 2 : 256;
    /* plain realloc: scope bookkeeping is not tensor memory and must not fail a test's Nth
     * allocation in a way that leaks the tensor */
    tc_tensor **items = realloc(st.items, (size_t)cap * sizeof *items);
    if (!items) return; /* not recorded: the caller still owns the reference */
    st.items = items;
    st.cap = cap;
  }
  st.items[st.n++] = t;
  atomic_store(&t->scoped, 1);
}

static bool remove_from_scope(tc_tensor *t) {
  int64_t lo = st.depth ? st.starts[0] : 0;
  for (int64_t i = st.n - 1; i >= lo; i--) {
    if (st.items[i] == t) {
      st.items[i] = NULL;
      atomic_store(&t->scoped, 0);
      return true;
    }
  }
  return false;
}

void tc__scope_forget(tc_tensor *t) { remove_from_scope(t); }

tc_tensor *tc_scope_keep(tc_tensor *t) {
  if (t && atomic_load(&t->scoped)) remove_from_scope(t);
  return t;
}

tc_tensor *tc_scope_return(tc_tensor *t) {
  tc_scope_keep(t);
  tc_scope_pop();
  if (t) tc__scope_record(t);
  return t;
}

void tc_scope_pop(void) {
  if (st.overflow) {
    st.overflow--;
    return;
  }
  if (st.depth == 0) return;
  int64_t start = st.starts[--st.depth];
  for (int64_t i = st.n - 1; i >= start; i--) {
    tc_tensor *t = st.items[i];
    st.items[i] = NULL;
    if (t) {
      atomic_store(&t->scoped, 0);
      tc_tensor_release(t);
    }
  }
  st.n = start;
  if (st.depth == 0) {
    free(st.items);
    st.items = NULL;
    st.n = st.cap = 0;
  }
}
