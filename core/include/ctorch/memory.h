/* ctorch/memory.h — scopes for temporaries, allocators and the debug allocator.
 *
 * Scopes: between tc_scope_push() and tc_scope_pop(), every tensor a ctorch call creates on this
 * thread is also recorded in the scope; tc_scope_pop() releases those references. A tensor the
 * caller wants to outlive the scope is handed over with tc_scope_keep(t): the caller then owns
 * that reference (and releases it). A training step is one scope, so expression code such as
 * tc_relu(tc_add(tc_matmul(x, w), b, 1)) leaks nothing:
 *
 *   tc_scope_push();
 *   tc_tensor *y = tc_relu(tc_add(tc_matmul(x, w), b, 1.0));
 *   tc_scope_keep(y);      // survive the pop
 *   tc_scope_pop();        // frees the matmul and add results
 *   ...
 *   tc_tensor_release(y);
 *
 * Inside a scope, do not release a scoped tensor yourself unless you retained it first (releasing
 * a scope's reference removes it from the scope, which is safe but defeats the point). Scopes nest
 * and are per thread.
 *
 * Debug allocator: every byte ctorch allocates on the host (tensor data and bookkeeping) is
 * counted; tests check that a failed call leaks nothing, and can make the Nth allocation fail.
 */
#ifndef CTORCH_MEMORY_H
#define CTORCH_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include "ctorch/export.h"
#include "ctorch/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_tensor tc_tensor;

TC_API void tc_scope_push(void);
/* Releases the tensors recorded since the matching push. Unbalanced pops are ignored. */
TC_API void tc_scope_pop(void);
/* Hands t over to the caller: the innermost scope holding it forgets it. Returns t. */
TC_API tc_tensor *tc_scope_keep(tc_tensor *t);
/* Ends the innermost scope like tc_scope_pop, except for t (may be NULL), which moves to the
 * enclosing scope as if it had been created there (or to the caller when there is none): the end
 * of a function that works in its own scope and returns a result, e.g. a module's forward.
 *   tc_scope_push();
 *   tc_tensor *y = tc_relu(tc_add(h, x, 1.0));   // temporaries and y in the inner scope
 *   return tc_scope_return(y);                    // temporaries released, y in the caller's scope */
TC_API tc_tensor *tc_scope_return(tc_tensor *t);
/* Number of open scopes on this thread. */
TC_API int tc_scope_depth(void);

/* Memory that a ctorch call returned to the caller (strings from tc_tensor_format, ...). */
TC_API void tc_free(void *p);
/* ctorch's host allocator, for the domain libraries and for objects a caller hands to ctorch to
 * free with tc_free: counted by the debug allocator (and failing when told to), NULL with
 * TC_ERR_NOMEM on failure. */
TC_API void *tc_malloc(size_t n);
TC_API void *tc_calloc(size_t n);
TC_API char *tc_strdup(const char *s);

/* Live host bytes and allocations made through ctorch's allocator (all threads). */
TC_API int64_t tc_debug_live_bytes(void);
TC_API int64_t tc_debug_live_allocations(void);
/* Makes the nth allocation from now (1 = the next one) fail with TC_ERR_NOMEM; 0 turns it off.
 * Process-wide; meant for single-threaded tests. */
TC_API void tc_debug_fail_allocation(int64_t nth);
/* Total allocations attempted since start (to size a fail-the-Nth loop). */
TC_API int64_t tc_debug_allocation_count(void);

#ifdef __cplusplus
}
#endif
#endif
