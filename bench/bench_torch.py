"""bench/bench_torch.py — the PyTorch side of bench/run (bench/bench_core.c is the ctorch side).

Runs the same named benchmarks as bench_core, the same way (warm-up, an inner repeat count so a
sample lasts about --target-ms, --reps samples), and prints the same lines:
    info <key> <value...>
    result <name> <inner> <ms per op, sample 1> <sample 2> ...
The thread setting comes from --threads (torch.set_num_threads); the environment variables that
also matter (OMP_WAIT_POLICY, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) are set by the caller, one
configuration per process, because they are read when torch loads.
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=25.0)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("info torch_version", torch.__version__)
    print("info torch_threads", torch.get_num_threads())
    cfg = torch.__config__.show()
    blas = "MKL" if "BLAS_INFO=mkl" in cfg else ("OpenBLAS" if "open" in cfg.lower() else "other")
    print("info torch_blas", blas)

    def mm(n):
        a, b = torch.rand(n, n), torch.rand(n, n)
        return lambda: torch.mm(a, b)

    def vec(op):
        x, y = torch.rand(10_000_000), torch.rand(10_000_000)
        return lambda: op(x, y)

    def square(fn):
        x, r = torch.rand(4096, 4096), torch.rand(4096)
        return lambda: fn(x, r)

    def chain():
        a = torch.rand(4, 4)
        d = torch.rand(4, 4) + 0.5

        def run():
            t = torch.add(a, d)
            t = torch.mul(t, d)
            t = torch.sub(t, a)
            t = torch.div(t, d)
            t = torch.neg(t)
            t = torch.relu(t)
            t = torch.exp(t)
            t = torch.tanh(t)
            t = torch.add(t, 1.0)
            t = torch.mul(t, 0.5)
            return t

        return run

    def joined(op):
        ts = [torch.rand(256, 256) for _ in range(64)]
        return lambda: op(ts, 0)

    def training(kind, train):
        torch.manual_seed(0)
        if kind == "mlp":
            model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                        torch.nn.ReLU(), torch.nn.Linear(256, 10))
            x = torch.rand(64, 784)
        elif kind == "convbn":
            nn = torch.nn
            model = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())
            x = torch.rand(32, 64, 32, 32)
        elif kind.startswith("resnet18"):
            import torchvision
            c10 = kind == "resnet18_c10"
            model = torchvision.models.resnet18(num_classes=10 if c10 else 1000)
            x = torch.rand(32, 3, 32, 32) if c10 else torch.rand(8, 3, 224, 224)
        elif kind == "textbag":
            nn = torch.nn
            model = nn.Sequential(nn.EmbeddingBag(20000, 64, mode="mean"), nn.Linear(64, 4))
            x = torch.randint(0, 20000, (64, 50))
        else:
            nn = torch.nn
            model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                  nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
            x = torch.rand(64, 1, 28, 28)
        if kind == "convbn":
            y = torch.rand(32, 64, 32, 32)
            loss_fn = torch.nn.MSELoss()
        else:
            classes = 4 if kind == "textbag" else 1000 if kind == "resnet18_224" else 10
            y = torch.randint(0, classes, (x.shape[0],))
            loss_fn = torch.nn.CrossEntropyLoss()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            with torch.enable_grad():
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()

        def infer():
            return model(x)

        if not train:
            model.eval()

        return step if train else infer

    def loader(workers, xform):
        from torch.utils.data import DataLoader, Dataset, TensorDataset
        rows = 4000 if xform else 60000
        base = TensorDataset(torch.rand(rows, 784), torch.randint(0, 10, (rows,)))

        class Spin(Dataset):  # a CPU-bound per-sample transform: 50 us of busy waiting
            def __len__(self):
                return len(base)

            def __getitem__(self, i):
                x, y = base[i]
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < 50e-6:
                    pass
                return x, y

        dl = DataLoader(Spin() if xform else base, batch_size=64, num_workers=workers,
                        persistent_workers=workers > 0)

        def epoch():
            for _ in dl:
                pass

        return epoch

    def photos():
        import os
        d = os.environ.get("CTORCH_BENCH_PHOTOS")
        if not d:
            raise SystemExit("bench_torch: set CTORCH_BENCH_PHOTOS (bench/make_photos.py)")
        return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".jpg")]

    def imagenet_pipeline():
        from torchvision.transforms import v2
        return v2.Compose([v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip(),
                           v2.ToDtype(torch.float32, scale=True),
                           v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])

    def images(kind):
        import torchvision.io as tio
        files = photos()
        data = [tio.read_file(f) for f in files]
        if kind == "decode":
            return lambda: [tio.decode_jpeg(b, mode=tio.ImageReadMode.RGB) for b in data]
        if kind == "decode_pil":  # PIL's decoder (Image.open + convert to RGB), for reference
            import io
            from PIL import Image
            raw = [open(f, "rb").read() for f in files]
            return lambda: [Image.open(io.BytesIO(b)).convert("RGB").load() for b in raw]
        tf = imagenet_pipeline()
        return lambda: [tf(tio.decode_jpeg(b, mode=tio.ImageReadMode.RGB)) for b in data]

    def image_loader(workers):
        import torchvision.io as tio
        from torch.utils.data import DataLoader, Dataset
        files, tf = photos(), imagenet_pipeline()

        class Photos(Dataset):
            def __len__(self):
                return len(files)

            def __getitem__(self, i):
                return tf(tio.decode_jpeg(tio.read_file(files[i]), mode=tio.ImageReadMode.RGB)), 0

        dl = DataLoader(Photos(), batch_size=32, num_workers=workers, persistent_workers=workers > 0)

        def epoch():
            for _ in dl:
                pass

        return epoch

    benches = {
        "mm256": lambda: mm(256),
        "mm1024": lambda: mm(1024),
        "mm2048": lambda: mm(2048),
        "add": lambda: vec(torch.add),
        "mul": lambda: vec(torch.mul),
        "bcast_add": lambda: square(lambda x, r: torch.add(x, r)),
        "sum": lambda: square(lambda x, r: torch.sum(x, dim=-1)),
        "softmax": lambda: square(lambda x, r: torch.softmax(x, dim=-1)),
        "chain": chain,
        "cat": lambda: joined(torch.cat),
        "stack": lambda: joined(torch.stack),
        "train_mlp": lambda: training("mlp", True),
        "train_lenet": lambda: training("lenet", True),
        "train_convbn": lambda: training("convbn", True),
        "train_textbag": lambda: training("textbag", True),
        "infer_mlp": lambda: training("mlp", False),
        "infer_lenet": lambda: training("lenet", False),
        "infer_convbn": lambda: training("convbn", False),
        "infer_textbag": lambda: training("textbag", False),
        "train_resnet18_c10": lambda: training("resnet18_c10", True),
        "infer_resnet18_224": lambda: training("resnet18_224", False),
        "decode": lambda: images("decode"),
        "decode_pil": lambda: images("decode_pil"),
        "pipeline": lambda: images("pipeline"),
        "img_loader_w0": lambda: image_loader(0),
        "img_loader_w2": lambda: image_loader(2),
        "loader_w0": lambda: loader(0, False),
        "loader_w2": lambda: loader(2, False),
        "xform_w0": lambda: loader(0, True),
        "xform_w1": lambda: loader(1, True),
        "xform_w2": lambda: loader(2, True),
    }
    only = set(args.only.split(",")) if args.only else None
    for name, make in benches.items():
        if only is not None and name not in only:
            continue
        run = make()
        run()  # warm-up
        t0 = time.perf_counter()
        run()
        once = (time.perf_counter() - t0) * 1e3
        inner = int(args.target_ms / once) if once > 0 else 1000
        inner = max(1, min(inner, 100000))
        samples = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                run()
            samples.append((time.perf_counter() - t0) * 1e3 / inner)
        print("result", name, inner, " ".join("%.6f" % s for s in samples), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
