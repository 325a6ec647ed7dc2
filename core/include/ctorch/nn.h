/* ctorch/nn.h — modules, as torch.nn.Module: parameters, buffers, children, train/eval,
 * state_dict, and the containers Sequential, ModuleList and ModuleDict.
 *
 * A module has a type name ("Linear"), ordered named parameters (leaf tensors that require grad),
 * buffers (e.g. BatchNorm's running_mean; persistent ones go into the state_dict), ordered named
 * children, a training flag and a forward callback. Names nest with dots, as in PyTorch:
 * "features.0.weight". Ownership: a parent owns its children (tc_module_add_child hands the child
 * over); tc_module_destroy destroys a module and its children. Parameters and buffers are tensors
 * retained by the module (two modules may share one tensor).
 *
 *   tc_module *net = tc_sequential_create(3, (tc_module *[]){
 *       tc_linear_create(784, 128, true), tc_relu_create(), tc_linear_create(128, 10, true)});
 *   tc_tensor *logits = tc_module_forward(net, x);        // (N, 10)
 *   tc_module_destroy(net);
 *
 * Your own module in C: a forward callback plus registered parameters and children.
 *
 *   static tc_tensor *affine_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
 *     return tc_add(tc_mul(in[0], tc_module_parameter(m, "scale")), tc_module_parameter(m, "shift"), 1.0);
 *   }
 *   tc_module *m = tc_module_create("Affine", affine_forward, NULL, NULL);
 *   tc_module_register_parameter(m, "scale", tc_ones((int64_t[]){4}, 1, NULL));   // takes the reference
 *   tc_module_register_parameter(m, "shift", tc_zeros((int64_t[]){4}, 1, NULL));
 *
 * Thread-safety: forward may run concurrently on distinct inputs; structural changes (register,
 * add_child, to, load_state_dict) must not race with anything else on the same module.
 */
#ifndef CTORCH_NN_H
#define CTORCH_NN_H

#include "ctorch/tensor.h"
#include "ctorch/state_dict.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_module tc_module;

/* forward(self, inputs, n): returns a new tensor or NULL with an error set. */
typedef tc_tensor *(*tc_forward_fn)(tc_module *self, const tc_tensor *const *inputs, int64_t n);

/* A module with no parameters yet. `state` is the module's private data (options, ...), freed
 * with destroy_state when the module is destroyed (either may be NULL). */
TC_API tc_module *tc_module_create(const char *type_name, tc_forward_fn forward, void *state,
                                   void (*destroy_state)(void *state));
TC_API void tc_module_destroy(tc_module *m); /* NULL-safe; destroys children */
TC_API const char *tc_module_type(const tc_module *m);
TC_API void *tc_module_state(const tc_module *m);

/* Registers a parameter, taking over the caller's reference to p (so a fresh tensor can be passed
 * directly); p becomes a leaf requiring grad. p may be NULL (an absent bias, as bias=None). A name
 * may not repeat a parameter, buffer or child. */
TC_API tc_status tc_module_register_parameter(tc_module *m, const char *name, tc_tensor *p);
/* Registers a buffer (taking over the reference); persistent buffers are part of the state_dict. */
TC_API tc_status tc_module_register_buffer(tc_module *m, const char *name, tc_tensor *b, bool persistent);
/* Adds a child, taking ownership of it. */
TC_API tc_status tc_module_add_child(tc_module *m, const char *name, tc_module *child);

/* Borrowed lookups (valid until the entry is replaced or the module destroyed); NULL when absent
 * (a parameter registered as NULL also gives NULL). Dotted names reach into children. */
TC_API tc_tensor *tc_module_parameter(const tc_module *m, const char *name);
TC_API tc_tensor *tc_module_buffer(const tc_module *m, const char *name);
TC_API tc_module *tc_module_child(const tc_module *m, const char *name);
/* Replaces an existing parameter or buffer's tensor (taking over the reference). */
TC_API tc_status tc_module_set_parameter(tc_module *m, const char *name, tc_tensor *p);
TC_API tc_status tc_module_set_buffer(tc_module *m, const char *name, tc_tensor *b);

/* Number of direct children and the i-th (borrowed) with its name. */
TC_API int64_t tc_module_num_children(const tc_module *m);
TC_API tc_module *tc_module_child_at(const tc_module *m, int64_t i, const char **name);

/* ---- forward ------------------------------------------------------------------------------------ */
TC_API tc_tensor *tc_module_forward(tc_module *m, const tc_tensor *x);
TC_API tc_tensor *tc_module_forward_n(tc_module *m, const tc_tensor *const *inputs, int64_t n);

/* ---- modes, devices, traversal --------------------------------------------------------------------- */
TC_API void tc_module_train(tc_module *m, bool training); /* recursive; eval = train(false) */
TC_API bool tc_module_is_training(const tc_module *m);
/* Moves (or converts) every parameter and buffer, keeping requires_grad (module.to). */
TC_API tc_status tc_module_to(tc_module *m, tc_device device);
TC_API tc_status tc_module_to_dtype(tc_module *m, tc_dtype dtype); /* floating tensors only */
/* Calls fn on every submodule then on m itself (module.apply). A nonzero status stops it. */
TC_API tc_status tc_module_apply(tc_module *m, tc_status (*fn)(tc_module *m, void *user), void *user);

/* Named parameters (recursive, each tensor once, in registration order): a list owned by the
 * caller, freed with tc_named_tensors_clear. Buffers likewise. */
typedef struct tc_named_tensors {
  char **names;
  tc_tensor **tensors; /* new references */
  int64_t n;
} tc_named_tensors;
TC_API tc_status tc_module_named_parameters(const tc_module *m, tc_named_tensors *out);
TC_API tc_status tc_module_named_buffers(const tc_module *m, tc_named_tensors *out);
TC_API void tc_named_tensors_clear(tc_named_tensors *l);
/* Parameters as a plain list (for optimizers) and their total element count. */
TC_API tc_status tc_module_parameters(const tc_module *m, tc_tensor_list *out);
TC_API int64_t tc_module_num_parameter_elements(const tc_module *m);
/* Sets .grad of every parameter to NULL (set_to_none) or zero. */
TC_API tc_status tc_module_zero_grad(tc_module *m, bool set_to_none);

/* ---- state_dict ------------------------------------------------------------------------------------ */
/* Adds parameters and persistent buffers under prefix + dotted name (prefix may be NULL). */
TC_API tc_status tc_module_state_dict(const tc_module *m, tc_state_dict *out, const char *prefix);
/* Copies values into the module's tensors (shapes must match; dtypes convert). strict: missing or
 * unexpected keys are an error naming them all. Nothing is modified when an error is reported.
 * missing/unexpected (either may be NULL) receive the names when not strict. */
TC_API tc_status tc_module_load_state_dict(tc_module *m, const tc_state_dict *sd, const char *prefix, bool strict,
                                           tc_named_tensors *missing, tc_named_tensors *unexpected);
/* Convenience: save/load a module alone as a safetensors file. */
TC_API tc_status tc_module_save(const tc_module *m, const char *path);
TC_API tc_status tc_module_load(tc_module *m, const char *path, bool strict);

/* ---- containers -------------------------------------------------------------------------------------- */
/* Sequential: children "0", "1", ...; forward chains them. Takes ownership of the modules (a NULL
 * module makes the call fail and destroys the others). */
TC_API tc_module *tc_sequential_create(int64_t n, tc_module *const *modules);
TC_API tc_status tc_sequential_append(tc_module *seq, tc_module *m);
/* ModuleList: indexed children without a forward (calling forward is an error). */
TC_API tc_module *tc_module_list_create(int64_t n, tc_module *const *modules);
/* ModuleDict: named children without a forward; add with tc_module_add_child. */
TC_API tc_module *tc_module_dict_create(void);

#ifdef __cplusplus
}
#endif
#endif
