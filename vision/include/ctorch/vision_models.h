/* ctorch/vision_models.h — classification models, as torchvision.models: ResNet-18/34/50, VGG-11
 * (with or without batch norm), MobileNetV2, and the classic LeNet-5 for 28x28 digits.
 *
 * Each constructor returns a new module (nn.h) in training mode, owned by the caller (free with
 * tc_module_destroy), built with torchvision's module tree: the same children, in the same order,
 * so the state_dict keys, shapes and order are torchvision's ("layer2.0.downsample.1.running_mean",
 * "features.1.conv.0.0.weight", ...) and a checkpoint converted with safetensors loads with
 * tc_module_load. Weights are initialised as torchvision initialises them, drawing from the default
 * generator in the same order, so after tc_manual_seed(s) a model holds exactly the weights that
 * torch.manual_seed(s) and the torchvision constructor give. No pretrained weights are bundled.
 *
 *   tc_module *net = tv_resnet18(10);                       // 10 classes
 *   if (!net) { fprintf(stderr, "%s\n", tc_last_error()); return 1; }
 *   tc_module_load(net, "resnet18.safetensors", true);      // optional: trained weights
 *   tc_module_train(net, false);                            // eval: running BN stats, no dropout
 *   tc_tensor *logits = tc_module_forward(net, images);     // images (N, 3, H, W) -> (N, 10)
 *   tc_tensor_release(logits);
 *   tc_module_destroy(net);
 *
 * Inputs are float (N, C, H, W) batches; the models are fully convolutional up to a global (or, for
 * VGG, 7x7 adaptive) average pool, so other sizes than ImageNet's 224x224 work: H, W >= 32 for VGG
 * (five 2x2 max pools), any for the ResNets and MobileNetV2 (in training mode batch norm needs more
 * than one value per channel, so a batch of one needs H or W > 32). Pretrained ImageNet weights expect
 * inputs normalised with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). Forward returns
 * logits (no softmax). Errors: num_classes < 1 gives NULL with TC_ERR_ARG naming the function and
 * the value; an allocation failure gives NULL with TC_ERR_NOMEM and leaks nothing; a wrong input
 * gives the failing layer's error. Thread-safety: as any module (nn.h); forward may run concurrently
 * in eval mode (training mode updates the batch-norm running statistics).
 */
#ifndef CTORCH_VISION_MODELS_H
#define CTORCH_VISION_MODELS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ResNet (torchvision.models.resnet18/34/50; "ResNet v1.5": a Bottleneck strides in its 3x3 conv2).
 * Children: conv1 (7x7, stride 2, padding 3, no bias), bn1, relu, maxpool (3x3, stride 2, padding
 * 1), layer1..layer4 (Sequentials of blocks "0", "1", ...), avgpool (adaptive 1x1), fc (Linear);
 * forward flattens between avgpool and fc. A block ("BasicBlock": conv1, bn1, relu, conv2, bn2
 * [, downsample]; "Bottleneck": conv1, bn1, conv2, bn2, conv3, bn3, relu [, downsample]) adds its
 * input, through downsample (Sequential: 0 = 1x1 strided conv, 1 = BatchNorm2d) when the stride or
 * the width changes, before the last ReLU. Layer widths 64, 128, 256, 512 (times 4 for Bottleneck);
 * blocks per layer 2-2-2-2 (18), 3-4-6-3 (34, 50). Init: convs kaiming_normal_(fan_out, relu), BN
 * weight 1 bias 0, fc as Linear's default. 11.7M / 21.8M / 25.6M parameters at 1000 classes. */
TC_API tc_module *tv_resnet18(int64_t num_classes);
TC_API tc_module *tv_resnet34(int64_t num_classes);
TC_API tc_module *tv_resnet50(int64_t num_classes);

/* VGG-11 (torchvision.models.vgg11 / vgg11_bn, configuration "A"). Children: features (Sequential:
 * 3x3 convs with padding 1 and bias, each followed by BatchNorm2d when batch_norm, then ReLU; 2x2
 * max pools), avgpool (adaptive 7x7), classifier (Sequential: 0 Linear(25088, 4096), 1 ReLU,
 * 2 Dropout(0.5), 3 Linear(4096, 4096), 4 ReLU, 5 Dropout(0.5), 6 Linear(4096, num_classes));
 * forward flattens between avgpool and classifier. Keys without batch norm: features.0/3/6/8/11/13/
 * 16/18.weight|bias; with it the indices count the BatchNorm2d and ReLU of each conv. Init: convs
 * kaiming_normal_(fan_out, relu) with zero bias, BN 1/0, linears normal(0, 0.01) with zero bias.
 * 132.9M parameters at 1000 classes (about 530 MB of float32), 123.6M of them in the classifier. */
TC_API tc_module *tv_vgg11(int64_t num_classes, bool batch_norm);

/* MobileNetV2 (torchvision.models.mobilenet_v2, width 1.0). Children: features (Sequential:
 * 0 = Conv2dNormActivation(3, 32, 3x3, stride 2), 1..17 = InvertedResidual blocks, 18 =
 * Conv2dNormActivation(320, 1280, 1x1)), classifier (Sequential: 0 Dropout(0.2), 1 Linear(1280,
 * num_classes)); forward global-average-pools and flattens between them. A Conv2dNormActivation is
 * a Sequential of 0 Conv2d (no bias, padding (k-1)/2), 1 BatchNorm2d, 2 ReLU6. An InvertedResidual
 * has one child "conv", a Sequential of [expand 1x1 Conv2dNormActivation when the expansion is not
 * 1,] depthwise 3x3 Conv2dNormActivation, 1x1 projection Conv2d, BatchNorm2d (so
 * "features.2.conv.0.0.weight", "features.2.conv.2.weight", "features.2.conv.3.running_var"), and
 * adds its input when the stride is 1 and the width is kept. Init: convs kaiming_normal_(fan_out)
 * with zero bias, BN 1/0, the linear normal(0, 0.01) with zero bias. 3.5M parameters at 1000. */
TC_API tc_module *tv_mobilenet_v2(int64_t num_classes);

/* LeNet-5 for (N, 1, 28, 28) inputs (MNIST, FashionMNIST), not part of torchvision: a Sequential
 *   0 Conv2d(1, 6, 5, padding 2), 1 ReLU, 2 MaxPool2d(2), 3 Conv2d(6, 16, 5), 4 ReLU, 5 MaxPool2d(2),
 *   6 Flatten, 7 Linear(400, 120), 8 ReLU, 9 Linear(120, 84), 10 ReLU, 11 Linear(84, num_classes)
 * so its keys are "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", ..., "11.bias", those of
 * the same nn.Sequential in PyTorch. PyTorch's default init. 61.7K parameters at 10 classes. */
TC_API tc_module *tv_lenet5(int64_t num_classes);

#ifdef __cplusplus
}
#endif
#endif
