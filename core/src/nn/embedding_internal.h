/* core/src/nn/embedding_internal.h — what embedding.c (the CPU kernels and checks) shares with
 * embedding_device.c (embedding and embedding_bag on a device, composed of device ops). */
#ifndef CTORCH_NN_EMBEDDING_INTERNAL_H
#define CTORCH_NN_EMBEDDING_INTERNAL_H

#include "ctorch/nn_functional.h"
#include "internal.h"

/* idx (host) as a contiguous int64 copy, every index checked against [0, num); NULL + message. */
tc_tensor *tc__emb_indices64(const char *fn, const tc_tensor *idx, int64_t num, const tc_tensor *weight);
/* Bag boundaries (B + 1 int64 entries, host) from a 2-D idx or a 1-D idx with offsets (host
 * tensors), checked as PyTorch checks them. */
tc_tensor *tc__emb_bag_starts(const char *fn, const tc_tensor *idx, const tc_tensor *offsets, int64_t *nbags);

/* The device forms, called by tc_embedding / tc_embedding_bag after their argument checks. */
tc_tensor *tc__embedding_device(const char *fn, const tc_tensor *idx, const tc_tensor *weight, int64_t padding_idx);
tc_tensor *tc__embedding_bag_device(const char *fn, const tc_tensor *idx, const tc_tensor *weight,
                                    const tc_tensor *offsets, tc_bag_mode mode, const tc_tensor *psw,
                                    int64_t padding_idx);

#endif
