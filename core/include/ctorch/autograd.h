/* ctorch/autograd.h — reverse-mode automatic differentiation, as torch.autograd.
 *
 * A dynamic graph, recorded as ops run: a tensor created by a differentiable op from inputs that
 * require grad has a grad_fn node ("AddBackward0", "MmBackward0", ...) linked to the nodes of its
 * inputs; leaves are tensors the user marked with tc_tensor_requires_grad_(t, true).
 * tc_backward(loss) walks the graph once in reverse and accumulates d loss / d leaf into each
 * leaf's .grad (a second backward adds to it).
 *
 *   tc_tensor *w = tc_randn((int64_t[]){3, 1}, 2, NULL);
 *   tc_tensor_requires_grad_(w, true);
 *   tc_tensor *loss = tc_mean(tc_pow_scalar(tc_matmul(x, w), 2), NULL, 0, false);
 *   tc_backward(loss);                        // frees the graph's saved tensors
 *   tc_tensor *g = tc_tensor_grad(w);         // new reference, shape [3, 1]
 *
 * Without retain_graph, the graph's saved tensors are freed by the backward pass and a second
 * backward through it fails with TC_ERR_STATE. A tensor saved for backward and then modified in
 * place makes backward fail with TC_ERR_STATE naming the op. Grad mode is thread-local:
 * tc_no_grad_push()/pop() nest, as `with torch.no_grad():`.
 */
#ifndef CTORCH_AUTOGRAD_H
#define CTORCH_AUTOGRAD_H

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tensor flags and gradients --------------------------------------------------------------- */
/* Marks a leaf as requiring grad (floating and complex dtypes only; not on a non-leaf). */
TC_API tc_status tc_tensor_requires_grad_(tc_tensor *t, bool requires_grad);
TC_API bool tc_tensor_requires_grad(const tc_tensor *t);
/* A leaf: requires_grad set by the user, or any tensor without a grad_fn. */
TC_API bool tc_tensor_is_leaf(const tc_tensor *t);
/* The accumulated gradient of a leaf: a new reference, or NULL (no error) when there is none. */
TC_API tc_tensor *tc_tensor_grad(const tc_tensor *t);
/* Replaces (or with NULL clears) t's .grad; grad must match t's shape. */
TC_API tc_status tc_tensor_set_grad(tc_tensor *t, const tc_tensor *grad);
/* The name of t's grad_fn ("AddBackward0"), or NULL for a leaf. The string is static. */
TC_API const char *tc_tensor_grad_fn_name(const tc_tensor *t);

/* ---- backward ------------------------------------------------------------------------------- */
/* loss.backward(): loss must have one element. */
TC_API tc_status tc_backward(const tc_tensor *loss);
/* out.backward(gradient, retain_graph): gradient (same shape as out) may be NULL only for a
 * one-element out; the vector-Jacobian product for others. */
TC_API tc_status tc_backward_ex(const tc_tensor *out, const tc_tensor *gradient, bool retain_graph);
/* torch.autograd.grad: d(sum of outputs[i] * grad_outputs[i]) / d inputs[j] into grads[j] (new
 * references), without touching any .grad. grad_outputs may be NULL (all outputs one-element).
 * An input the outputs do not depend on is an error unless allow_unused (then grads[j] = NULL). */
TC_API tc_status tc_autograd_grad(const tc_tensor *const *outputs, int64_t n_outputs,
                                  const tc_tensor *const *grad_outputs, const tc_tensor *const *inputs,
                                  int64_t n_inputs, tc_tensor **grads, bool retain_graph, bool allow_unused);

/* ---- grad mode (thread-local) ----------------------------------------------------------------- */
TC_API void tc_no_grad_push(void); /* with torch.no_grad(): ... */
TC_API void tc_no_grad_pop(void);
TC_API bool tc_is_grad_enabled(void);
TC_API void tc_set_grad_enabled(bool enabled);

/* ---- hooks -------------------------------------------------------------------------------------
 * Called with the gradient flowing into t during backward (before it is accumulated into a leaf's
 * .grad or passed on). Set *replace to a new gradient (a new reference, same shape) to change it,
 * or leave it NULL. A nonzero status aborts the backward pass with that error. */
typedef tc_status (*tc_grad_hook)(const tc_tensor *grad, tc_tensor **replace, void *user);
/* Returns a handle >= 1 for tc_tensor_remove_hook, or 0 on failure. */
TC_API int64_t tc_tensor_register_hook(tc_tensor *t, tc_grad_hook hook, void *user);
TC_API tc_status tc_tensor_remove_hook(tc_tensor *t, int64_t handle);

/* ---- gradcheck ---------------------------------------------------------------------------------
 * Compares the analytic gradient of f with central finite differences, for every element of
 * every input that requires grad (inputs must be float64, on any device). f returns one tensor (any shape: its
 * gradient is checked through a fixed random projection, as torch's gradcheck checks the full
 * Jacobian column by column). Returns TC_OK, or TC_ERR_STATE with a message naming the input,
 * the element, and both values. */
typedef tc_tensor *(*tc_gradcheck_fn)(const tc_tensor *const *inputs, int64_t n, void *user);
TC_API tc_status tc_gradcheck(tc_gradcheck_fn f, const tc_tensor *const *inputs, int64_t n, void *user, double eps,
                              double atol, double rtol);

#ifdef __cplusplus
}
#endif
#endif
