/* ctorch/vision_datasets.h — torchvision's datasets in their published on-disk layouts: the MNIST
 * variants (KMNIST, EMNIST, QMNIST), CIFAR-10/100 (binary version), ImageFolder/DatasetFolder, FakeData.
 *
 * Every dataset is a map-style td_dataset (see ctorch/datasets.h) whose sample i has the fields
 * "input", a uint8 (C, H, W) image as torchvision's ToImage/PILToTensor gives, and "target", the
 * class (int), so td_transformed and the DataLoader take them as they take tv_mnist. The file
 * datasets read their data once when created (the folder datasets read only the file list) and are
 * shared read-only by every worker thread.
 *
 *   td_dataset *train = tv_cifar10("/data", true);          // /data/cifar-10-batches-bin/data_batch_*.bin
 *   td_dataset *pets = tv_image_folder("/data/pets/train", NULL);   // /data/pets/train/<class>/.../x.jpg
 *   printf("%lld classes, first %s\n", (long long)tv_folder_num_classes(pets), tv_folder_class_name(pets, 0));
 *   td_dataset *ds = td_transformed(pets, "input", tr_to_dtype(TC_F32, true), NULL, NULL);
 *   td_sample s;
 *   td_get(ds, 0, &s, NULL);                                  // "input" float (3, H, W), "target" int
 *   td_sample_clear(&s);
 *   td_release(ds); td_release(train);
 *
 * Errors: a missing file or folder is TC_ERR_IO, a malformed one TC_ERR_CORRUPT; the message names
 * the file and what was expected. A failed call returns NULL and leaves nothing to free.
 */
#ifndef CTORCH_VISION_DATASETS_H
#define CTORCH_VISION_DATASETS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/datasets.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- MNIST variants ---------------------------------------------------------------------------------
 * KMNIST (Kuzushiji-MNIST) and FashionMNIST ship the MNIST file names and layout: use
 * tv_mnist(root, train) from ctorch/vision.h on their folder; tv_kmnist is the same call. Files are
 * looked up directly under root, raw or with a .gz suffix (torchvision's root/<Name>/raw folder is
 * one such root). */
TC_API td_dataset *tv_kmnist(const char *root, bool train);

/* EMNIST: split is one of "byclass", "bymerge", "balanced", "letters", "digits", "mnist"; files
 * emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]. torchvision returns the images as
 * stored, which are transposed (each glyph mirrored across its diagonal) relative to MNIST;
 * transpose = false gives exactly torchvision's samples, true gives upright glyphs (H and W swapped
 * back). Labels are as stored ("letters" counts from 1). An unknown split is TC_ERR_ARG. */
TC_API td_dataset *tv_emnist(const char *root, const char *split, bool train, bool transpose);
/* The class names of an EMNIST split, as torchvision's EMNIST.classes_split_dict (static strings);
 * *n receives the count. NULL for an unknown split. */
TC_API const char *const *tv_emnist_classes(const char *split, int64_t *n);

/* QMNIST: what is "train", "test", "test10k" (the first 10000 test images), "test50k" (the other
 * 50000) or "nist"; files qmnist-{train,test}-images-idx3-ubyte and -labels-idx2-int (or
 * xnist-images-idx3-ubyte and xnist-labels-idx2-int for "nist"), raw or .gz (torchvision's .xz
 * download must be decompressed first). The label file is (N, 8) big-endian int32. compat = true
 * gives "target" = column 0 (the digit) as an int, torchvision's default; compat = false gives
 * "target" = the whole row as an int64 (8) tensor (class, NIST hsf, writer id, digit index, ...). */
TC_API td_dataset *tv_qmnist(const char *root, const char *what, bool compat);

/* ---- CIFAR (binary version) -------------------------------------------------------------------------
 * CIFAR-10: root/cifar-10-batches-bin/{data_batch_1..5.bin | test_batch.bin} (root may also be the
 * cifar-10-batches-bin folder itself); each record is 1 label byte and 3072 pixel bytes (R, G, B
 * planes of 32x32). CIFAR-100: root/cifar-100-binary/{train.bin | test.bin}, records of a coarse
 * label, a fine label and 3072 pixels; "target" is the fine label (0..99) unless coarse (0..19).
 * Sample "input" is uint8 (3, 32, 32), a view into the dataset's one (N, 3, 32, 32) tensor. A file
 * whose size is not a positive multiple of the record size, or with a label out of range, is
 * TC_ERR_CORRUPT naming the file and the expected size. */
TC_API td_dataset *tv_cifar10(const char *root, bool train);
TC_API td_dataset *tv_cifar100(const char *root, bool train, bool coarse);
/* All labels of a CIFAR/MNIST-family dataset made by this library as a new int64 (N) tensor
 * (torchvision's .targets); NULL with TC_ERR_ARG for other datasets. */
TC_API tc_tensor *tv_dataset_targets(td_dataset *ds);

/* ---- DatasetFolder / ImageFolder ----------------------------------------------------------------------
 * root/<class>/<sub folders>/<file>: the classes are the sorted names of root's subfolders (symlinks to
 * folders count), class_to_idx their positions, and the samples every file under each class
 * folder (symlinked folders followed) in torchvision's order: classes in order, within a class the
 * folders sorted by path and each folder's files sorted by name (byte order, as Python sorts str).
 * Files are kept by extension (a case-insensitive suffix match) or by a callback, not both.
 * Indexing reads directory entries only (no stat per file unless the file system leaves the type
 * unknown or the entry is a symlink); 10^5 files index in well under a second on a warm cache. */

/* Loads one file into the sample's "input" tensor (a new reference), or NULL with an error set.
 * Called from worker threads: must be thread-safe. */
typedef tc_tensor *(*tv_loader_fn)(const char *path, void *user);
/* Whether path is a sample (torchvision's is_valid_file). Called once per file while indexing. */
typedef bool (*tv_valid_file_fn)(const char *path, void *user);

typedef struct tv_folder_options {
  /* Extensions to keep, lower case with the dot (".jpg"); n_extensions 0 with extensions NULL means
   * the default: none for DatasetFolder (then is_valid_file is required), IMG_EXTENSIONS for
   * ImageFolder. Giving both extensions and is_valid_file is TC_ERR_ARG, as torchvision. */
  const char *const *extensions;
  int64_t n_extensions;
  tv_valid_file_fn is_valid_file;
  void *valid_user;
  /* The loader (NULL: tv_default_image_loader) and its user pointer. */
  tv_loader_fn loader;
  void *loader_user;
  /* When false (torchvision's default), a class folder without any kept file is TC_ERR_IO naming
   * the empty classes. */
  bool allow_empty;
} tv_folder_options;

/* torchvision.datasets.folder.IMG_EXTENSIONS: .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp */
TC_API const char *const *tv_img_extensions(int64_t *n);

/* DatasetFolder(root, loader, extensions | is_valid_file, allow_empty). opt must not be NULL and
 * must name extensions or is_valid_file. No class folder is TC_ERR_IO. */
TC_API td_dataset *tv_dataset_folder(const char *root, const tv_folder_options *opt);
/* ImageFolder: DatasetFolder with IMG_EXTENSIONS and the default image loader unless opt says
 * otherwise (opt may be NULL). */
TC_API td_dataset *tv_image_folder(const char *root, const tv_folder_options *opt);

/* The image loader used when none is given: reads the file and decodes it (JPEG or PNG, told from
 * the bytes: tv_decode_image) as RGB (3, H, W) uint8, as torchvision's default_loader converts to
 * RGB, without EXIF rotation as PIL's open does. Other formats are TC_ERR_UNSUPPORTED and broken
 * files TC_ERR_CORRUPT, the message naming the file. */
TC_API tc_tensor *tv_default_image_loader(const char *path, void *user);

/* Accessors of a dataset made by tv_dataset_folder / tv_image_folder (TC_ERR_ARG / NULL / -1 for
 * any other dataset or an index out of range). Strings live as long as the dataset. */
TC_API int64_t tv_folder_num_classes(const td_dataset *ds);
TC_API const char *tv_folder_class_name(const td_dataset *ds, int64_t class_index);
/* class_to_idx[name], or -1 when there is no such class. */
TC_API int64_t tv_folder_class_index(const td_dataset *ds, const char *name);
/* The path (root/<class>/.../<file>) and class of sample i (negative i counts from the end). */
TC_API const char *tv_folder_sample_path(const td_dataset *ds, int64_t i);
TC_API int64_t tv_folder_sample_target(const td_dataset *ds, int64_t i);

/* ---- FakeData -----------------------------------------------------------------------------------------
 * torchvision.datasets.FakeData(size, image_size = (C, H, W), num_classes, random_offset): sample i
 * seeds a generator with i + random_offset, draws torch.randn(C, H, W) then torch.randint(0,
 * num_classes, (1,)), and converts the image as ToPILImage then PILToTensor do (x * 255 to uint8,
 * wrapping as PyTorch's float -> uint8 cast does on x86), so "input" is the uint8 (C, H, W) tensor
 * torchvision's FakeData(transform=PILToTensor()) returns and "target" its class. C must be 1, 3 or 4
 * (the channel counts ToPILImage accepts). The caller's generator is not used. */
TC_API td_dataset *tv_fake_data(int64_t size, const int64_t image_size[3], int64_t num_classes, int64_t random_offset);

#ifdef __cplusplus
}
#endif
#endif
