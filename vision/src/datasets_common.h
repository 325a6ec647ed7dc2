/* vision/src/datasets_common.h — pieces shared by the vision datasets (internal).
 *
 * Most file datasets here are "labeled image arrays": one uint8 (N, C, H, W) tensor read once and
 * an int64 label per image. They share one state layout and get/len/destroy, so tv_dataset_targets
 * works for all of them.
 */
#ifndef CTORCH_VISION_DATASETS_COMMON_H
#define CTORCH_VISION_DATASETS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/datasets.h"

#define TV__LABELED_MAGIC 0x74766c62u /* "tvlb": marks a tv__labeled state */

typedef struct tv__labeled {
  uint32_t magic;
  tc_tensor *images; /* (N, C, H, W) uint8, contiguous; sample i is a view of images[i] */
  int64_t *targets;  /* N labels (tc_malloc'd) */
  tc_tensor *rows;   /* optional (N, R) int64: when set, "target" is rows[i] instead of targets[i] */
} tv__labeled;

/* A dataset named `name` over images/targets/rows, all taken over (also on failure). */
td_dataset *tv__labeled_create(const char *name, tc_tensor *images, int64_t *targets, tc_tensor *rows);

/* root/name, or root/name.gz when only that exists, into path (size bytes). TC_ERR_IO naming both
 * when neither exists (fn names the caller). */
tc_status tv__find_file(const char *fn, const char *root, const char *name, char *path, size_t size);

/* An IDX file (raw or gzip) of unsigned bytes (type 0x08) or big-endian int32 (0x0C): a uint8 or
 * int32 tensor of its dims. Errors name fn and the file. */
tc_tensor *tv__read_idx_typed(const char *fn, const char *path);

#endif
