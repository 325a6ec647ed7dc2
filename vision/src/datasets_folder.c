/* vision/src/datasets_folder.c — DatasetFolder and ImageFolder: root/<class>/<sub folders>/<file>.
 *
 * Indexing reproduces torchvision's make_dataset order: classes sorted; per class, sorted(os.walk())
 * (folders ordered by their full path) and each folder's file names sorted. It reads each folder
 * once with readdir, trusts d_type (a stat only for symlinks and file systems that report
 * DT_UNKNOWN), keeps every string in one arena, and sorts once per class, so 10^5 files index in a
 * fraction of a second. The dataset state is immutable afterwards: get() only builds the sample.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ctorch/vision.h"

#define FOLDER_MAGIC 0x7664666fu /* "tvfo" */
#define MAX_DEPTH 64             /* symlink loops under followlinks stop here instead of recursing forever */

/* ---- growable arrays (tc_malloc-backed, so the debug allocator counts them) ------------------------------ */

typedef struct {
  char *p;
  size_t len, cap;
} arena;

static tc_status grow(void **p, size_t *cap, size_t need, size_t esz) {
  if (need <= *cap) return TC_OK;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) nc *= 2;
  void *q = tc_malloc(nc * esz);
  if (!q) return TC_ERR_NOMEM;
  if (*p) memcpy(q, *p, *cap * esz);
  tc_free(*p);
  *p = q;
  *cap = nc;
  return TC_OK;
}

/* appends s (n bytes) and a NUL; *off receives where it starts */
static tc_status arena_add(arena *a, const char *s, size_t n, size_t *off) {
  if (grow((void **)&a->p, &a->cap, a->len + n + 1, 1)) return TC_ERR_NOMEM;
  memcpy(a->p + a->len, s, n);
  a->p[a->len + n] = 0;
  *off = a->len;
  a->len += n + 1;
  return TC_OK;
}

typedef struct {
  size_t *v;
  size_t n, cap;
} offsets;

static tc_status offsets_push(offsets *o, size_t x) {
  if (grow((void **)&o->v, &o->cap, o->n + 1, sizeof *o->v)) return TC_ERR_NOMEM;
  o->v[o->n++] = x;
  return TC_OK;
}

/* qsort over offsets into one arena (qsort has no context argument: the arena goes through a
 * thread-local, set just before each sort) */
static _Thread_local const char *sort_base;
static int cmp_off(const void *a, const void *b) {
  return strcmp(sort_base + *(const size_t *)a, sort_base + *(const size_t *)b);
}
static void sort_offsets(size_t *v, size_t n, const char *base) {
  sort_base = base;
  qsort(v, n, sizeof *v, cmp_off);
}

/* ---- the dataset state -------------------------------------------------------------------------------- */

typedef struct {
  uint32_t magic;
  arena strings;          /* class names and sample paths */
  offsets classes;        /* sorted class names */
  offsets paths;          /* sample paths, torchvision's order */
  int64_t *targets;       /* class of each sample */
  size_t targets_cap;
  tv_loader_fn loader;
  void *loader_user;
} folder_state;

static void folder_free(folder_state *s) {
  if (!s) return;
  tc_free(s->strings.p), tc_free(s->classes.v), tc_free(s->paths.v), tc_free(s->targets);
  tc_free(s);
}

/* The loader used when none is given. */
static tv_loader_fn default_loader = tv_default_image_loader;

/* The file decoded as RGB whatever its format (JPEG or PNG, told from the bytes), as PIL's
 * Image.open(...).convert("RGB") in torchvision's default loader: no EXIF rotation either. */
tc_tensor *tv_default_image_loader(const char *path, void *user) {
  (void)user;
  tc_tensor *bytes = tv_read_file(path);
  if (!bytes) return NULL;
  tc_tensor *img = tv_decode_image(tc_tensor_data(bytes), (size_t)tc_tensor_numel(bytes), TV_IMAGE_RGB, false);
  if (!img) { /* prefix the file name (the message is copied first: it lives in the error buffer) */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    tc_set_error(tc_last_status(), "tv_default_image_loader: %s: %s", path, msg);
  }
  tc_tensor_release(bytes);
  return img;
}

static int64_t folder_len(void *vs) { return (int64_t)((folder_state *)vs)->paths.n; }

static tc_status folder_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  folder_state *s = vs;
  tc_tensor *img = s->loader(s->strings.p + s->paths.v[i], s->loader_user);
  if (!img) return tc_last_status() ? tc_last_status() : tc_set_error(TC_ERR_IO, "DatasetFolder: the loader failed");
  tc_status st = td_sample_set(out, "input", tr_tensor_value(img));
  return st ? st : td_sample_set(out, "target", tr_int_value(s->targets[i]));
}

static void folder_destroy(void *vs) { folder_free(vs); }

static const td_dataset_vtable dataset_folder_vt = {"DatasetFolder", folder_len, folder_get, folder_destroy};
static const td_dataset_vtable image_folder_vt = {"ImageFolder", folder_len, folder_get, folder_destroy};

/* ---- directory walking ------------------------------------------------------------------------------- */

/* Whether entry e of folder dir is a folder: d_type when it is definite, else stat (which follows
 * symlinks, as os.walk(followlinks=True) and DirEntry.is_dir() do). */
static bool entry_is_dir(const char *dir, const struct dirent *e) {
#ifdef _DIRENT_HAVE_D_TYPE
  if (e->d_type == DT_DIR) return true;
  if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) return false;
#endif
  char path[4096];
  struct stat st;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) return false;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_dot(const char *n) { return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])); }

/* one class folder walked: every folder (full path) and every file (name, folder index) */
typedef struct {
  arena str;
  offsets dirs;       /* full folder paths */
  offsets file_names; /* names */
  offsets file_dir;   /* index into dirs of each file */
} walk;

static void walk_free(walk *w) {
  tc_free(w->str.p), tc_free(w->dirs.v), tc_free(w->file_names.v), tc_free(w->file_dir.v);
  memset(w, 0, sizeof *w);
}

/* Lists folder dirs.v[di]: files recorded, sub folders appended to dirs (walked later by the caller's
 * loop). Unreadable folders are skipped, as os.walk does without onerror. */
static tc_status list_dir(walk *w, size_t di) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", w->str.p + w->dirs.v[di]);
  DIR *d = opendir(dir);
  if (!d) return TC_OK;
  tc_status st = TC_OK;
  size_t dlen = strlen(dir);
  for (struct dirent *e; !st && (e = readdir(d));) {
    if (is_dot(e->d_name)) continue;
    size_t nlen = strlen(e->d_name), off;
    if (entry_is_dir(dir, e)) {
      char sub[4096];
      if (dlen + 1 + nlen >= sizeof sub) continue;
      memcpy(sub, dir, dlen);
      sub[dlen] = '/';
      memcpy(sub + dlen + 1, e->d_name, nlen + 1);
      st = arena_add(&w->str, sub, dlen + 1 + nlen, &off);
      if (!st) st = offsets_push(&w->dirs, off);
    } else {
      st = arena_add(&w->str, e->d_name, nlen, &off);
      if (!st) st = offsets_push(&w->file_names, off);
      if (!st) st = offsets_push(&w->file_dir, di);
    }
  }
  closedir(d);
  return st;
}

/* number of '/' in s beyond base_len: depth below the class folder */
static int depth_of(const char *s, size_t base_len) {
  int n = 0;
  for (s += base_len; *s; s++) n += *s == '/';
  return n;
}

static tc_status walk_class(walk *w, const char *class_dir) {
  size_t off, base = strlen(class_dir);
  tc_status st = arena_add(&w->str, class_dir, base, &off);
  if (!st) st = offsets_push(&w->dirs, off);
  for (size_t di = 0; !st && di < w->dirs.n; di++)
    if (depth_of(w->str.p + w->dirs.v[di], base) <= MAX_DEPTH) st = list_dir(w, di);
  return st;
}

/* ---- indexing ------------------------------------------------------------------------------------------ */

typedef struct {
  const tv_folder_options *opt;
  const char *const *ext;
  int64_t n_ext;
} filter;

static bool has_extension(const char *name, const filter *f) {
  size_t n = strlen(name);
  for (int64_t k = 0; k < f->n_ext; k++) {
    size_t m = strlen(f->ext[k]);
    if (m > n) continue;
    bool eq = true;
    for (size_t j = 0; eq && j < m; j++) {
      unsigned char c = (unsigned char)name[n - m + j];
      eq = (c >= 'A' && c <= 'Z' ? c + 32 : c) == (unsigned char)f->ext[k][j];
    }
    if (eq) return true;
  }
  return false;
}

/* The sorted class folders of root into s->classes. */
static tc_status find_classes(folder_state *s, const char *fn, const char *root) {
  DIR *d = opendir(root);
  if (!d) return tc_set_error(TC_ERR_IO, "%s: cannot open folder %s", fn, root);
  tc_status st = TC_OK;
  for (struct dirent *e; !st && (e = readdir(d));) {
    size_t off;
    if (is_dot(e->d_name) || !entry_is_dir(root, e)) continue;
    st = arena_add(&s->strings, e->d_name, strlen(e->d_name), &off);
    if (!st) st = offsets_push(&s->classes, off);
  }
  closedir(d);
  if (st) return st;
  if (!s->classes.n) return tc_set_error(TC_ERR_IO, "%s: couldn't find any class folder in %s", fn, root);
  sort_offsets(s->classes.v, s->classes.n, s->strings.p);
  return TC_OK;
}

/* by (folder path, file name): sorted(os.walk()) then sorted(fnames) */
static _Thread_local const walk *sort_walk;
static int cmp_file(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const walk *w = sort_walk;
  if (w->file_dir.v[i] != w->file_dir.v[j]) {
    int c = strcmp(w->str.p + w->dirs.v[w->file_dir.v[i]], w->str.p + w->dirs.v[w->file_dir.v[j]]);
    if (c) return c;
  }
  return strcmp(w->str.p + w->file_names.v[i], w->str.p + w->file_names.v[j]);
}

/* Adds the kept files of one walked class, in order, to s; *found = how many. */
static tc_status add_class_files(folder_state *s, walk *w, int64_t cls, const filter *f, int64_t *found) {
  size_t n = w->file_names.n, *order = tc_malloc((n ? n : 1) * sizeof *order);
  if (!order) return TC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) order[i] = i;
  sort_walk = w;
  qsort(order, n, sizeof *order, cmp_file);
  tc_status st = TC_OK;
  char path[8192];
  *found = 0;
  for (size_t k = 0; k < n && !st; k++) {
    size_t i = order[k], off;
    const char *name = w->str.p + w->file_names.v[i];
    int len = snprintf(path, sizeof path, "%s/%s", w->str.p + w->dirs.v[w->file_dir.v[i]], name);
    if (len < 0 || (size_t)len >= sizeof path) continue;
    bool keep = f->opt && f->opt->is_valid_file ? f->opt->is_valid_file(path, f->opt->valid_user)
                                                : has_extension(name, f);
    if (!keep) continue;
    st = arena_add(&s->strings, path, (size_t)len, &off);
    if (!st) st = offsets_push(&s->paths, off);
    if (!st) st = grow((void **)&s->targets, &s->targets_cap, s->paths.n, sizeof *s->targets);
    if (!st) s->targets[s->paths.n - 1] = cls, (*found)++;
  }
  tc_free(order);
  return st;
}

/* the message of torchvision's FileNotFoundError for classes without files */
static tc_status empty_error(const char *fn, const folder_state *s, const bool *empty, const filter *f) {
  char msg[1024] = "";
  size_t used = 0;
  for (size_t c = 0; c < s->classes.n && used < sizeof msg - 64; c++)
    if (empty[c])
      used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", used ? ", " : "", s->strings.p + s->classes.v[c]);
  char exts[256] = "";
  size_t eu = 0;
  for (int64_t k = 0; k < f->n_ext && !(f->opt && f->opt->is_valid_file) && eu < sizeof exts - 32; k++)
    eu += (size_t)snprintf(exts + eu, sizeof exts - eu, "%s%s", eu ? ", " : "", f->ext[k]);
  return tc_set_error(TC_ERR_IO, "%s: found no valid file for the classes %s.%s%s", fn, msg,
                      eu ? " Supported extensions are: " : "", exts);
}

static tc_status index_root(folder_state *s, const char *fn, const char *root, const filter *f) {
  tc_status st = find_classes(s, fn, root);
  bool *empty = st ? NULL : tc_calloc(s->classes.n * sizeof *empty);
  if (!st && !empty) st = TC_ERR_NOMEM;
  bool any_empty = false;
  for (size_t c = 0; !st && c < s->classes.n; c++) {
    walk w = {0};
    char dir[4096];
    int64_t found = 0;
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, s->strings.p + s->classes.v[c]) >= sizeof dir)
      st = tc_set_error(TC_ERR_ARG, "%s: path of class %s too long", fn, s->strings.p + s->classes.v[c]);
    if (!st) st = walk_class(&w, dir);
    if (!st) st = add_class_files(s, &w, (int64_t)c, f, &found);
    walk_free(&w);
    empty[c] = found == 0;
    any_empty |= found == 0;
  }
  if (!st && any_empty && !(f->opt && f->opt->allow_empty)) st = empty_error(fn, s, empty, f);
  tc_free(empty);
  return st;
}

static const char *const img_ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};

const char *const *tv_img_extensions(int64_t *n) {
  if (n) *n = (int64_t)(sizeof img_ext / sizeof img_ext[0]);
  return img_ext;
}

static td_dataset *make_folder(const char *fn, const td_dataset_vtable *vt, const char *root,
                               const tv_folder_options *opt, bool image_defaults) {
  if (!root) {
    tc_set_error(TC_ERR_ARG, "%s: root is NULL", fn);
    return NULL;
  }
  filter f = {opt, opt ? opt->extensions : NULL, opt && opt->extensions ? opt->n_extensions : 0};
  bool has_valid = opt && opt->is_valid_file;
  if (f.n_ext > 0 && has_valid) {
    tc_set_error(TC_ERR_ARG, "%s: both extensions and is_valid_file cannot be given", fn);
    return NULL;
  }
  if (!f.n_ext && !has_valid) {
    if (!image_defaults) {
      tc_set_error(TC_ERR_ARG, "%s: both extensions and is_valid_file cannot be missing", fn);
      return NULL;
    }
    f.ext = tv_img_extensions(&f.n_ext);
  }
  folder_state *s = tc_calloc(sizeof *s);
  if (!s) return NULL;
  s->magic = FOLDER_MAGIC;
  s->loader = opt && opt->loader ? opt->loader : default_loader;
  s->loader_user = opt && opt->loader ? opt->loader_user : NULL;
  if (index_root(s, fn, root, &f)) {
    folder_free(s);
    return NULL;
  }
  return td_dataset_create(vt, s);
}

td_dataset *tv_dataset_folder(const char *root, const tv_folder_options *opt) {
  return make_folder("tv_dataset_folder", &dataset_folder_vt, root, opt, false);
}

td_dataset *tv_image_folder(const char *root, const tv_folder_options *opt) {
  return make_folder("tv_image_folder", &image_folder_vt, root, opt, true);
}

/* ---- accessors --------------------------------------------------------------------------------------- */

static folder_state *folder_of(const td_dataset *ds, const char *fn) {
  const char *name = ds ? td_dataset_name(ds) : NULL;
  folder_state *s = name && (!strcmp(name, "DatasetFolder") || !strcmp(name, "ImageFolder"))
                        ? td_dataset_state(ds) : NULL;
  if (!s || s->magic != FOLDER_MAGIC) {
    tc_set_error(TC_ERR_ARG, "%s: not a DatasetFolder/ImageFolder dataset", fn);
    return NULL;
  }
  return s;
}

int64_t tv_folder_num_classes(const td_dataset *ds) {
  folder_state *s = folder_of(ds, "tv_folder_num_classes");
  return s ? (int64_t)s->classes.n : -1;
}

const char *tv_folder_class_name(const td_dataset *ds, int64_t c) {
  folder_state *s = folder_of(ds, "tv_folder_class_name");
  if (!s) return NULL;
  if (c < 0 || c >= (int64_t)s->classes.n) {
    tc_set_error(TC_ERR_ARG, "tv_folder_class_name: class %lld out of range [0, %lld)", (long long)c,
                 (long long)s->classes.n);
    return NULL;
  }
  return s->strings.p + s->classes.v[c];
}

int64_t tv_folder_class_index(const td_dataset *ds, const char *name) {
  folder_state *s = folder_of(ds, "tv_folder_class_index");
  if (!s || !name) return -1;
  size_t lo = 0, hi = s->classes.n; /* binary search over the sorted names */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(s->strings.p + s->classes.v[mid], name);
    if (!c) return (int64_t)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* i checked against the sample count (negative from the end); -1 with an error when out of range */
static int64_t sample_index(const folder_state *s, int64_t i, const char *fn) {
  int64_t n = (int64_t)s->paths.n;
  if (i < 0) i += n;
  if (i < 0 || i >= n) {
    tc_set_error(TC_ERR_ARG, "%s: sample %lld out of range for %lld samples", fn, (long long)i, (long long)n);
    return -1;
  }
  return i;
}

const char *tv_folder_sample_path(const td_dataset *ds, int64_t i) {
  folder_state *s = folder_of(ds, "tv_folder_sample_path");
  if (!s || (i = sample_index(s, i, "tv_folder_sample_path")) < 0) return NULL;
  return s->strings.p + s->paths.v[i];
}

int64_t tv_folder_sample_target(const td_dataset *ds, int64_t i) {
  folder_state *s = folder_of(ds, "tv_folder_sample_target");
  if (!s || (i = sample_index(s, i, "tv_folder_sample_target")) < 0) return -1;
  return s->targets[i];
}
