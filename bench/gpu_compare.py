"""bench/gpu_compare.py — runs bench_cuda (ctorch) and bench_cuda_torch.py (PyTorch) on the GPU and
prints `speedup <name> <x>` lines (x = PyTorch time / ctorch time, > 1: ctorch faster) and a table.

The two processes alternate for --rounds rounds; samples are pooled and the median taken.
Figures: matmul in TFLOP/s and as a fraction of PyTorch's (which runs cuBLAS), add in GB/s
(3 x 4 bytes per element) and as a fraction of the device-to-device copy bandwidth (copy_ of the
same size, 2 x 4 bytes per element), softmax against PyTorch. No timing is asserted anywhere.
"""
import argparse
import statistics
import subprocess
import sys

ROWS = [
    ("mm_f32_4096", "matmul f32 4096", "flop", 2 * 4096**3),
    ("mm_f32_8192", "matmul f32 8192", "flop", 2 * 8192**3),
    ("mm_bf16_4096", "matmul bf16 4096", "flop", 2 * 4096**3),
    ("mm_bf16_8192", "matmul bf16 8192", "flop", 2 * 8192**3),
    ("add_2p28", "add 2^28 f32", "byte", 3 * 4 * (1 << 28)),
    ("softmax_8192", "softmax 8192x8192 f32", "byte", 2 * 4 * 8192 * 8192),
    ("layer_norm_8192", "layer norm 8192x8192 f32", "byte", 2 * 4 * 8192 * 8192),
    ("train_mlp_1024", "MLP train step, batch 1024", "step", 1),
    ("train_lenet_256", "LeNet-5 train step, b 256", "step", 1),
    ("train_resnet18_128", "ResNet-18 train step, b 128", "step", 1),
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    res = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] == "result":
            res[f[1]] = [float(x) for x in f[3:]]
    if p.returncode != 0:
        print("  (%s: exit %d: %s)" % (cmd[0], p.returncode, p.stderr.strip()[-300:]), file=sys.stderr)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    here = __file__.rsplit("/", 1)[0]
    ours, theirs = {}, {}
    for _ in range(args.rounds):
        for k, v in run([args.core, "--reps", str(args.reps)]).items():
            ours.setdefault(k, []).extend(v)
        for k, v in run([args.python, here + "/bench_cuda_torch.py", "--reps", str(args.reps)]).items():
            theirs.setdefault(k, []).extend(v)
    med = lambda d, k: statistics.median(d[k]) if k in d and d[k] else None
    copy_ms = med(theirs, "copy_2p28")
    copy_bw = 2 * 4 * (1 << 28) / (copy_ms * 1e-3) / 1e9 if copy_ms else None
    lines = []
    for key, desc, kind, amount in ROWS:
        a, b = med(ours, key), med(theirs, key)
        if a is None or b is None:
            lines.append("%-24s  not measured" % desc)
            continue
        x = b / a
        print("speedup %s %.2f" % (key, x))
        if kind == "flop":
            fig = "%.1f TFLOP/s (PyTorch/cuBLAS %.1f): %.2f of cuBLAS" % (amount / a / 1e9, amount / b / 1e9, x)
        elif kind == "step":
            fig = "%.3f ms per step (PyTorch eager %.3f)" % (a, b)
        else:
            bw = amount / (a * 1e-3) / 1e9
            fig = "%.0f GB/s (PyTorch %.0f)" % (bw, amount / (b * 1e-3) / 1e9)
            if key == "add_2p28" and copy_bw:
                fig += ": %.2f of copy bandwidth %.0f GB/s" % (bw / copy_bw, copy_bw)
        lines.append("%-24s ctorch %9.4f ms  PyTorch %9.4f ms  x%.2f  %s" % (desc, a, b, x, fig))
    print("\nGPU benchmarks (x = PyTorch time / ctorch time):")
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main()
