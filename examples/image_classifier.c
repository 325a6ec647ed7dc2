/* examples/image_classifier.c — train an image classifier, the PyTorch tutorial's way, in C.
 *
 *   image_classifier [options] [DATA] [--predict IMG...]
 *     DATA   an MNIST-format folder (train-images-idx3-ubyte[.gz], ...: MNIST, Fashion-MNIST,
 *            KMNIST), a CIFAR-10 or CIFAR-100 binary folder (data_batch_1.bin ... / train.bin), or an
 *            ImageFolder root with train/ and test/ (or val/) subfolders of one folder per class.
 *            Default: Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
 *     --epochs N (5)  --batch B (64)  --workers W (2)  --lr LR (0.001, Adam)  --size S (32: ImageFolder
 *            images are resized and center-cropped to S x S)  --device cpu|cuda (cpu)
 *     --save FILE        the trained weights, safetensors (default image_classifier.safetensors)
 *     --checkpoint FILE  save model, optimizer and RNG after every epoch; resume from FILE when it exists
 *     --predict IMG...   (last) no training: load --save's weights and print the class of each image
 *
 * The pipeline: the dataset (uint8 (C, H, W) images) -> [Resize + CenterCrop] -> ToDtype(float32,
 * scale) -> a DataLoader (shuffled, worker threads) -> a small CNN (two conv + pool blocks, an
 * adaptive pool to 7x7, two linear layers) -> cross-entropy -> Adam. Each epoch shows a progress bar
 * (loss, accuracy, images/s) and the test accuracy; at the end a confusion matrix, and the weights
 * saved as safetensors (loadable by PyTorch into the same nn.Sequential).
 */
#include <ctorch/ctorch.h>
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLASSES 1000

typedef struct {
  const char *data, *save, *checkpoint;
  int epochs, workers;
  int64_t batch, size;
  double lr;
  tc_device device;
  const char *const *predict; /* image files, or NULL */
  int npredict;
} options;

typedef struct {
  td_dataset *train, *test;
  int64_t classes, channels, h, w;
  char names[MAX_CLASSES][48];
} data;

static const char *const fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const cifar10[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                        "dog",      "frog",       "horse", "ship", "truck"};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what) {
  fprintf(stderr, "image_classifier: %s: %s\n", what, tc_last_error());
  return 1;
}

static bool exists(const char *dir, const char *name) {
  char p[4096];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

/* ---- data ------------------------------------------------------------------------------------------ */
/* ds -> ToDtype(float32, scale) on "input", with the geometric steps first when given */
static td_dataset *to_float(td_dataset *raw, tr_transform *geometry) {
  tr_transform *t = tr_to_dtype(TC_F32, true);
  if (geometry) t = tr_compose(2, (tr_transform *[]){geometry, t}); /* owns both, even when it fails */
  if (!raw || !t) {
    tr_destroy(t);
    td_release(raw);
    return NULL;
  }
  td_dataset *d = td_transformed(raw, "input", t, NULL, NULL); /* owns t, even when it fails */
  td_release(raw);
  return d;
}

static void set_names(data *d, const char *const *names, int64_t n) {
  for (int64_t c = 0; c < d->classes && c < MAX_CLASSES; c++) {
    if (names && c < n) snprintf(d->names[c], sizeof d->names[c], "%s", names[c]);
    else snprintf(d->names[c], sizeof d->names[c], "%lld", (long long)c);
  }
}

/* Opens DATA by what it holds. ImageFolder images become size x size RGB. */
static tc_status open_data(const options *o, data *d) {
  memset(d, 0, sizeof *d);
  const char *dir = o->data;
  td_dataset *train = NULL, *test = NULL;
  if (exists(dir, "train-images-idx3-ubyte") || exists(dir, "train-images-idx3-ubyte.gz")) {
    train = to_float(tv_mnist(dir, true), NULL), test = to_float(tv_mnist(dir, false), NULL);
    d->classes = 10, d->channels = 1, d->h = d->w = 28;
    set_names(d, strstr(dir, "fashion") ? fashion : NULL, 10);
  } else if (exists(dir, "data_batch_1.bin") || exists(dir, "cifar-10-batches-bin")) {
    tr_transform *flip = tv_random_horizontal_flip_transform(0.5);
    train = to_float(tv_cifar10(dir, true), flip), test = to_float(tv_cifar10(dir, false), NULL);
    d->classes = 10, d->channels = 3, d->h = d->w = 32;
    set_names(d, cifar10, 10);
  } else if (exists(dir, "train.bin") || exists(dir, "cifar-100-binary")) {
    tr_transform *flip = tv_random_horizontal_flip_transform(0.5);
    train = to_float(tv_cifar100(dir, true, false), flip), test = to_float(tv_cifar100(dir, false, false), NULL);
    d->classes = 100, d->channels = 3, d->h = d->w = 32;
    set_names(d, NULL, 0);
  } else { /* ImageFolder: DATA/train and DATA/test (or DATA/val) */
    char tr[4096], te[4096];
    snprintf(tr, sizeof tr, "%s/train", dir);
    snprintf(te, sizeof te, "%s/%s", dir, exists(dir, "test") ? "test" : "val");
    td_dataset *rtrain = tv_image_folder(tr, NULL), *rtest = rtrain ? tv_image_folder(te, NULL) : NULL;
    if (!rtrain || !rtest) {
      td_release(rtrain);
      return tc_last_status();
    }
    d->classes = tv_folder_num_classes(rtrain), d->channels = 3, d->h = d->w = o->size;
    if (d->classes > MAX_CLASSES || d->classes != tv_folder_num_classes(rtest)) {
      td_release(rtrain), td_release(rtest);
      return tc_set_error(TC_ERR_ARG, "%s: train and test must hold the same classes (at most %d)", dir, MAX_CLASSES);
    }
    for (int64_t c = 0; c < d->classes; c++)
      snprintf(d->names[c], sizeof d->names[c], "%s", tv_folder_class_name(rtrain, c));
    tr_transform *g[2];
    for (int k = 0; k < 2; k++) /* Resize(size) + CenterCrop(size), plus a flip for training */
      g[k] = tr_compose(2, (tr_transform *[]){tv_resize_shorter_transform(o->size, 0, TV_INTERP_BILINEAR, true),
                                             tv_center_crop_transform(o->size, o->size)});
    g[0] = tr_compose(2, (tr_transform *[]){g[0], tv_random_horizontal_flip_transform(0.5)});
    train = to_float(rtrain, g[0]), test = to_float(rtest, g[1]);
  }
  d->train = train, d->test = test;
  return train && test ? TC_OK : tc_last_status();
}

/* ---- the model ---------------------------------------------------------------------------------------- */
/* nn.Sequential(Conv2d(C, 32, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), ReLU,
 * MaxPool2d(2), AdaptiveAvgPool2d(7), Flatten, Linear(3136, 128), ReLU, Linear(128, K)); for 28x28
 * inputs the adaptive pool is the identity. */
static tc_module *make_model(int64_t channels, int64_t classes) {
  return tc_sequential_create(
      11, (tc_module *[]){tc_conv2d_create(channels, 32, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                          tc_conv2d_create(32, 64, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false), tc_adaptive_avg_pool2d_create(7, 7),
                          tc_flatten_create(1, -1), tc_linear_create(3136, 128, true), tc_relu_create(),
                          tc_linear_create(128, classes, true)});
}

/* ---- training and evaluation -------------------------------------------------------------------------- */
/* a batch tensor on the device: t itself on the CPU, else a copy (a new tensor in the current
 * scope; pinned batches are copied without waiting) */
static const tc_tensor *on_device(const tc_tensor *t, tc_device dev) {
  return tc_device_equal(dev, tc_cpu()) ? t : tc_tensor_to_nonblocking(t, dev);
}

/* Accuracy on a split; fills confusion[true * K + predicted] when given. */
static double evaluate(tc_module *model, td_loader *dl, tc_device dev, int64_t K, int64_t *confusion) {
  tc_module_train(model, false);
  tc_no_grad_push();
  int64_t right = 0, total = 0;
  td_sample b;
  bool end = false;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    tc_scope_push();
    const tc_tensor *y = td_sample_field(&b, "target")->tensor;
    tc_tensor *logits = tc_module_forward(model, on_device(td_sample_field(&b, "input")->tensor, dev));
    tc_tensor *pred = logits ? tc_tensor_to(tc_argmax(logits, 1, false), tc_cpu()) : NULL;
    if (pred) {
      const int64_t *p = tc_tensor_data(pred), *t = tc_tensor_data(y);
      for (int64_t i = 0; i < tc_tensor_numel(y); i++) {
        right += p[i] == t[i];
        if (confusion) confusion[t[i] * K + p[i]]++;
      }
      total += tc_tensor_numel(y);
    }
    tc_scope_pop();
    td_sample_clear(&b);
  }
  tc_no_grad_pop();
  tc_module_train(model, true);
  return total ? (double)right / (double)total : 0;
}

static void progress(bool tty, int e, int epochs, int64_t step, int64_t steps, double loss, double acc, double ips) {
  int bar = (int)(30 * step / steps);
  printf("%sepoch %d/%d [%.*s%*s] %3d%%  loss %.4f  acc %.4f  %6.0f img/s%s", tty ? "\r" : "", e + 1, epochs, bar,
         "##############################", 30 - bar, "", (int)(100 * step / steps), loss, acc, ips, tty ? "" : "\n");
  fflush(stdout);
}

/* One epoch of training; returns nonzero on failure. */
static int train_epoch(tc_module *model, tc_module *loss_fn, tc_optimizer *opt, td_loader *dl, const options *o,
                       int e) {
  const bool tty = isatty(1); /* a live progress line on a terminal, quarter marks in a log */
  int64_t steps = td_loader_len(dl), seen = 0, right = 0, step = 0;
  double t0 = now_s(), loss_sum = 0;
  td_sample b;
  bool end = false;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    tc_scope_push();
    const tc_tensor *y = td_sample_field(&b, "target")->tensor;
    const tc_tensor *x = on_device(td_sample_field(&b, "input")->tensor, o->device), *yd = on_device(y, o->device);
    tc_optim_zero_grad(opt, true);
    tc_tensor *logits = x && yd ? tc_module_forward(model, x) : NULL;
    tc_tensor *loss = logits ? tc_module_forward_n(loss_fn, (const tc_tensor *[]){logits, yd}, 2) : NULL;
    double l = 0;
    if (!loss || tc_backward(loss) || tc_optim_step(opt) || tc_item_double(loss, &l)) return fail("training step");
    tc_tensor *pred = tc_tensor_to(tc_argmax(logits, 1, false), tc_cpu());
    const int64_t *p = tc_tensor_data(pred), *t = tc_tensor_data(y);
    int64_t n = tc_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) right += p[i] == t[i];
    loss_sum += l * (double)n, seen += n, step++;
    tc_scope_pop();
    td_sample_clear(&b);
    if (tty ? (step % 20 == 0 || step == steps) : (step * 4 / steps != (step - 1) * 4 / steps))
      progress(tty, e, o->epochs, step, steps, loss_sum / (double)seen, (double)right / (double)seen,
               (double)seen / (now_s() - t0));
  }
  if (!end) return fail("loading a batch");
  if (tty) printf("\n");
  return 0;
}

static void print_confusion(const data *d, const int64_t *confusion, double acc) {
  printf("\nconfusion matrix (rows: true class, columns: predicted), test accuracy %.4f\n%12s", acc, "");
  if (d->classes > 20) { /* too wide to print: per-class accuracy instead */
    for (int64_t r = 0; r < d->classes; r++) {
      int64_t n = 0;
      for (int64_t c = 0; c < d->classes; c++) n += confusion[r * d->classes + c];
      printf("%s%s %.3f", r % 6 ? "  " : "\n", d->names[r], n ? (double)confusion[r * d->classes + r] / (double)n : 0);
    }
    printf("\n");
    return;
  }
  for (int64_t c = 0; c < d->classes; c++) printf("%5lld", (long long)c);
  printf("\n");
  for (int64_t r = 0; r < d->classes; r++) {
    printf("%11.11s ", d->names[r]);
    for (int64_t c = 0; c < d->classes; c++) printf("%5lld", (long long)confusion[r * d->classes + c]);
    printf("\n");
  }
}

/* ---- prediction --------------------------------------------------------------------------------------- */
static int predict(const options *o, const data *d) {
  tc_module *model = make_model(d->channels, d->classes);
  if (!model || tc_module_load(model, o->save, true)) return fail("loading the trained weights (train first, --save)");
  tc_module_train(model, false);
  tc_no_grad_push();
  for (int i = 0; i < o->npredict; i++) {
    tc_scope_push();
    /* as the test split was prepared: shorter edge to the input size, center crop, [0, 1] floats */
    tc_tensor *img = tv_read_image(o->predict[i], d->channels == 1 ? TV_IMAGE_GRAY : TV_IMAGE_RGB);
    tc_tensor *x = img ? tv_resize_shorter(img, d->h, 0, TV_INTERP_BILINEAR, true) : NULL;
    x = x ? tv_center_crop(x, d->h, d->w) : NULL;
    x = x ? tc_unsqueeze(tc_div_scalar(tc_to_dtype(x, TC_F32), 255.0), 0) : NULL;
    tc_tensor *probs = x ? tc_softmax(tc_module_forward(model, x), 1) : NULL;
    tc_tensor *best = probs ? tc_argmax(probs, 1, false) : NULL;
    if (!best) {
      fprintf(stderr, "image_classifier: %s: %s\n", o->predict[i], tc_last_error());
    } else {
      int64_t k = ((const int64_t *)tc_tensor_data(best))[0];
      tc_tensor *pc = tc_contiguous(probs);
      printf("%s: %s (%.1f%%)\n", o->predict[i], d->names[k], 100.0 * ((const float *)tc_tensor_data(pc))[k]);
    }
    tc_scope_pop();
  }
  tc_no_grad_pop();
  tc_module_destroy(model);
  return 0;
}

/* ---- main --------------------------------------------------------------------------------------------- */
static int usage(void) {
  fprintf(stderr, "usage: image_classifier [--epochs N] [--batch B] [--workers W] [--lr LR] [--size S] "
                  "[--device cpu|cuda] [--save FILE] [--checkpoint FILE] [DATA] [--predict IMG...]\n");
  return 2;
}

static int parse(int argc, char **argv, options *o) {
  *o = (options){.data = "/usr/share/datasets/fashion-mnist", .save = "image_classifier.safetensors", .epochs = 5,
                 .workers = 2, .batch = 64, .size = 32, .lr = 1e-3, .device = tc_cpu()};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--predict")) { /* the rest of the command line */
      o->predict = (const char *const *)argv + i + 1;
      o->npredict = argc - i - 1;
      if (o->npredict == 0) return usage();
      break;
    } else if (a[0] != '-') {
      o->data = a;
    } else if (!v) {
      return usage();
    } else if (!strcmp(a, "--epochs")) o->epochs = atoi(v), i++;
    else if (!strcmp(a, "--batch")) o->batch = atoll(v), i++;
    else if (!strcmp(a, "--workers")) o->workers = atoi(v), i++;
    else if (!strcmp(a, "--lr")) o->lr = atof(v), i++;
    else if (!strcmp(a, "--size")) o->size = atoll(v), i++;
    else if (!strcmp(a, "--save")) o->save = v, i++;
    else if (!strcmp(a, "--checkpoint")) o->checkpoint = v, i++;
    else if (!strcmp(a, "--device")) {
      if (!strcmp(v, "cuda")) o->device = tc_cuda(0);
      else if (strcmp(v, "cpu")) return usage();
      i++;
    } else {
      return usage();
    }
  }
  return o->epochs < 0 || o->batch < 1 || o->workers < 0 || o->size < 8 ? usage() : 0;
}

int main(int argc, char **argv) {
  options o;
  int rc = parse(argc, argv, &o);
  if (rc) return rc;
  data d;
  if (open_data(&o, &d)) {
    fail("opening the dataset");
    fprintf(stderr, "(Fashion-MNIST: apt install dataset-fashion-mnist, or give a dataset folder)\n");
    return 1;
  }
  if (o.npredict) {
    rc = predict(&o, &d);
    td_release(d.train), td_release(d.test);
    return rc;
  }
  printf("%s: %lld training and %lld test images, %lld classes\n", o.data, (long long)td_len(d.train),
         (long long)td_len(d.test), (long long)d.classes);

  td_loader_opts lo = TD_LOADER_DEFAULTS;
  lo.batch_size = o.batch, lo.shuffle = true, lo.num_workers = o.workers, lo.seed = 0;
  lo.pin_memory = o.device.type == TC_DEVICE_CUDA; /* page-locked batches: copies to the GPU overlap */
  td_loader *train_dl = td_loader_create(d.train, &lo);
  lo.shuffle = false, lo.batch_size = 1000;
  td_loader *test_dl = td_loader_create(d.test, &lo);
  tc_manual_seed(0);
  tc_module *model = make_model(d.channels, d.classes), *loss_fn = tc_cross_entropy_loss_create(NULL);
  tc_tensor_list params = {0};
  if (!train_dl || !test_dl || !model || !loss_fn || tc_module_to(model, o.device) ||
      tc_module_parameters(model, &params))
    return fail("setting up");
  tc_adam_opts ao = tc_adam_defaults();
  ao.lr = o.lr;
  tc_optimizer *opt = tc_adam_create(params.data, params.n, &ao);
  if (!opt) return fail("optimizer");

  int64_t start = 0, step = 0;
  if (o.checkpoint && access(o.checkpoint, F_OK) == 0) { /* resume: weights, Adam's state, RNG, epoch */
    if (tc_checkpoint_load(o.checkpoint, model, opt, NULL, &step, &start)) return fail("resuming from the checkpoint");
    td_loader_state st;
    td_loader_state_get(train_dl, &st);
    st.epoch = start, st.batch = 0;
    if (td_loader_state_set(train_dl, &st)) return fail("positioning the loader");
    printf("resumed from %s after epoch %lld\n", o.checkpoint, (long long)start);
  }
  double t_start = now_s(), acc = 0;
  for (int e = (int)start; e < o.epochs; e++) {
    if (train_epoch(model, loss_fn, opt, train_dl, &o, e)) return 1;
    step += td_loader_len(train_dl);
    acc = evaluate(model, test_dl, o.device, d.classes, NULL);
    printf("  test accuracy %.4f (%.1f s so far)\n", acc, now_s() - t_start);
    if (o.checkpoint && tc_checkpoint_save(o.checkpoint, model, opt, NULL, step, e + 1))
      return fail("saving the checkpoint");
  }

  int64_t *confusion = calloc((size_t)(d.classes * d.classes), sizeof *confusion);
  if (!confusion) return 1;
  acc = evaluate(model, test_dl, o.device, d.classes, confusion);
  print_confusion(&d, confusion, acc);
  free(confusion);
  if (tc_module_to(model, tc_cpu()) || tc_module_save(model, o.save)) return fail("saving the weights");
  printf("weights saved to %s\n", o.save);

  tc_optim_destroy(opt);
  tc_tensor_list_clear(&params);
  tc_module_destroy(loss_fn);
  tc_module_destroy(model);
  td_loader_destroy(train_dl);
  td_loader_destroy(test_dl);
  td_release(d.train);
  td_release(d.test);
  return 0;
}
