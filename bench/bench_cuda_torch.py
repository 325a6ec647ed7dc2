"""bench/bench_cuda_torch.py — the PyTorch side of the GPU benchmarks (bench/bench_cuda.c is ctorch's).

Same names, shapes and timing method (warm-up, then samples of back-to-back ops ended by a
synchronize). Also measures the references the targets are stated against: the device-to-device
copy bandwidth (copy_ of 2^28 floats) and PyTorch's own matmul, which runs cuBLAS.
Output: `result <name> <inner> <ms per op>...`.
"""
import argparse
import time

import torch


def resnet18_model():
    """torchvision's resnet18(num_classes=1000), or the same network built here without torchvision."""
    try:
        import torchvision
        return torchvision.models.resnet18(num_classes=1000)
    except ImportError:
        pass
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            h = torch.relu(self.bn1(self.conv1(x)))
            h = self.bn2(self.conv2(h))
            return torch.relu(h + (self.downsample(x) if self.downsample is not None else x))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=50.0)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False  # as ctorch's default
    dev = torch.device("cuda", 0)
    torch.manual_seed(0)

    def mm(n, dt):
        a, b = torch.rand(n, n, device=dev, dtype=dt), torch.rand(n, n, device=dev, dtype=dt)
        return lambda: torch.mm(a, b)

    def add():
        a, b = torch.rand(1 << 28, device=dev), torch.rand(1 << 28, device=dev)
        return lambda: torch.add(a, b)

    def copy():
        a, b = torch.rand(1 << 28, device=dev), torch.empty(1 << 28, device=dev)
        return lambda: b.copy_(a)

    def softmax():
        a = torch.rand(8192, 8192, device=dev)
        return lambda: torch.softmax(a, -1)

    def layer_norm():
        a, w = torch.rand(8192, 8192, device=dev), torch.rand(8192, device=dev)
        return lambda: torch.nn.functional.layer_norm(a, (8192,), w, None, 1e-5)

    def train(model, x, classes):
        nn = torch.nn
        model = model.to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = x.to(dev), torch.randint(0, classes, (x.shape[0],), device=dev)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            with torch.enable_grad():
                opt.zero_grad()
                loss_fn(model(x), y).backward()
                opt.step()

        return step

    def mlp():
        nn = torch.nn
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        return train(model, torch.rand(1024, 784), 10)

    def lenet():
        nn = torch.nn
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                              nn.Linear(84, 10))
        return train(model, torch.rand(256, 1, 28, 28), 10)

    def resnet18():
        return train(resnet18_model(), torch.rand(128, 3, 224, 224), 1000)

    benches = {
        "mm_f32_4096": lambda: mm(4096, torch.float32),
        "mm_f32_8192": lambda: mm(8192, torch.float32),
        "mm_bf16_4096": lambda: mm(4096, torch.bfloat16),
        "mm_bf16_8192": lambda: mm(8192, torch.bfloat16),
        "add_2p28": add,
        "copy_2p28": copy,
        "softmax_8192": softmax,
        "layer_norm_8192": layer_norm,
        "train_mlp_1024": mlp,
        "train_lenet_256": lenet,
        "train_resnet18_128": resnet18,
    }
    for name, make in benches.items():
        if args.only and name not in args.only.split(","):
            continue
        run = make()
        for _ in range(3):
            run()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        run()
        torch.cuda.synchronize()
        once = (time.perf_counter() - t0) * 1e3
        inner = max(1, min(10000, int(args.target_ms / once) if once > 0 else 100))
        samples = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                run()
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) * 1e3 / inner)
        print("result", name, inner, " ".join("%.6f" % s for s in samples), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
