/* ctorch/checkpoint.h — training checkpoints: model, optimizer, scheduler, RNG and counters in one
 * safetensors file, so an interrupted run resumes bit-identically.
 *
 *   tc_checkpoint_save("run.ckpt", net, opt, sched, step, epoch);        // atomic replace
 *   ...  // a new process: make net, opt and sched exactly as before, then
 *   int64_t step, epoch;
 *   if (tc_checkpoint_load("run.ckpt", net, opt, sched, &step, &epoch)) fail(tc_last_error());
 *
 * File layout (one safetensors file, readable with tc_state_dict_load or PyTorch's safetensors):
 *   tensors  "model.<name>"      the module's state_dict (parameters, persistent buffers)
 *            "optim.state.<i>.*" the optimizer's state tensors (tc_optim_state_dict)
 *            "rng.cpu"           the default CPU generator's state (tc_generator_get_state)
 *   metadata "format" = "ctorch.checkpoint", "format_version" = "1", "step", "epoch" (decimal),
 *            "optim.*" the optimizer's hyperparameters and step counts, "sched.*" the scheduler's.
 *
 * Saving writes a temporary file next to path, fsyncs and renames it, so a crash mid-save leaves
 * the previous checkpoint intact. Loading treats the file as hostile and validates everything
 * before changing anything: a corrupt or truncated file (TC_ERR_CORRUPT naming the byte offset or
 * key), a missing key or a shape or dtype that differs from the model's (TC_ERR_ARG / TC_ERR_SHAPE
 * / TC_ERR_DTYPE naming the key), an optimizer or scheduler of another kind (TC_ERR_STATE) all
 * leave the model, optimizer, scheduler, generator and *step / *epoch untouched.
 * Thread-safety: nothing else may use the model, optimizer or scheduler during the calls.
 */
#ifndef CTORCH_CHECKPOINT_H
#define CTORCH_CHECKPOINT_H

#include <stdint.h>
#include "ctorch/nn.h"
#include "ctorch/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* opt and sched may be NULL (then they are not saved). */
TC_API tc_status tc_checkpoint_save(const char *path, const tc_module *model, const tc_optimizer *opt,
                                    const tc_lr_scheduler *sched, int64_t step, int64_t epoch);
/* Restores into objects made as for the saved run. opt / sched may be NULL (their saved state is
 * then ignored); when given, the checkpoint must hold their state. step / epoch may be NULL. */
TC_API tc_status tc_checkpoint_load(const char *path, tc_module *model, tc_optimizer *opt, tc_lr_scheduler *sched,
                                    int64_t *step, int64_t *epoch);

#ifdef __cplusplus
}
#endif
#endif
