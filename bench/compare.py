"""bench/compare.py — runs bench_core (ctorch) and bench_torch.py (PyTorch) and prints the ratios.

Called by bench/run (which builds bench_core first). Method (shared/BENCHMARKING.md):
  - every configuration runs in its own process, and the processes alternate (ctorch, PyTorch,
    ctorch, ...) for --rounds rounds, so drift of the shared machine hits both sides alike;
  - each process warms up and times --reps samples per benchmark; samples of all rounds are pooled
    and the median is taken;
  - ctorch runs with 2 threads (and 1); PyTorch runs in four configurations (2 threads; 2 threads
    with OMP_WAIT_POLICY=PASSIVE; 2 threads with OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1; 1 thread)
    and its fastest is the reference: `speedup <name> <x>` with x = PyTorch time / ctorch time
    (> 1: ctorch faster), ctorch at 2 threads against PyTorch at its best.
No timing is asserted anywhere: this is a measurement, not a test.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (description, kind, amount): kind "flop" (amount = flops), "byte" (bytes moved), "op"
# (amount = ops per call, figure in ns per op)
N1, N2 = 4096, 10_000_000
COMPARISONS = {
    "mm256": ("matmul f32 (256,256)@(256,256)", "flop", 2 * 256**3),
    "mm1024": ("matmul f32 (1024,1024)@(1024,1024)", "flop", 2 * 1024**3),
    "mm2048": ("matmul f32 (2048,2048)@(2048,2048)", "flop", 2 * 2048**3),
    "add": ("add, 10^7 f32", "byte", 3 * 4 * N2),
    "mul": ("mul, 10^7 f32", "byte", 3 * 4 * N2),
    "bcast_add": ("add (4096,4096) + (4096,) row", "byte", 4 * (2 * N1 * N1 + N1)),
    "sum": ("sum over the last dim of (4096,4096)", "byte", 4 * (N1 * N1 + N1)),
    "softmax": ("softmax over the last dim of (4096,4096)", "byte", 4 * 2 * N1 * N1),
    "chain": ("chain of 10 ops on (4,4) tensors", "op", 10),
    "cat": ("cat of 64 (256,256) f32, dim 0", "byte", 4 * 2 * 64 * 256 * 256),
    "stack": ("stack of 64 (256,256) f32, dim 0", "byte", 4 * 2 * 64 * 256 * 256),
    "train_mlp": ("MLP 784-512-256-10 train step (SGD momentum), batch 64", "step", 1),
    "train_lenet": ("LeNet-5 train step (SGD momentum), 1x28x28 batch 64", "step", 1),
    "train_convbn": ("conv 64->64 3x3 + BatchNorm + ReLU train step (MSE), 32x32 batch 32", "step", 1),
    "train_textbag": ("EmbeddingBag(20000,64,mean) + Linear(64,4) train step, 64x50 tokens", "step", 1),
    "infer_mlp": ("MLP no_grad inference, batch 64", "step", 1),
    "infer_lenet": ("LeNet-5 no_grad inference, batch 64", "step", 1),
    "infer_convbn": ("conv block no_grad inference (eval mode), batch 32", "step", 1),
    "infer_textbag": ("EmbeddingBag + Linear no_grad inference, 64x50 tokens", "step", 1),
    "train_resnet18_c10": ("ResNet-18 (10 classes) train step, 32x3x32x32", "step", 1),
    "infer_resnet18_224": ("ResNet-18 no_grad inference, 8x3x224x224", "step", 1),
    "decode": ("JPEG decode, 200 photos 640x480 (vs torchvision.io.decode_jpeg)", "samples", 200),
    "decode_pil": ("JPEG decode, 200 photos 640x480 (ctorch vs PIL)", "samples", 200),
    "pipeline": ("decode + RandomResizedCrop(224) + flip + ToDtype + Normalize, 200 photos", "samples", 200),
    "img_loader_w0": ("DataLoader of that pipeline from files, batch 32, 0 workers", "samples", 200),
    "img_loader_w2": ("DataLoader of that pipeline from files, batch 32, 2 workers", "samples", 200),
    "loader_w0": ("DataLoader epoch, TensorDataset 60000x784, batch 64, 0 workers", "samples", 60000),
    "loader_w2": ("DataLoader epoch, TensorDataset 60000x784, batch 64, 2 workers", "samples", 60000),
    "xform_w0": ("DataLoader epoch, 4000 samples x 50 us transform, 0 workers", "samples", 4000),
    "xform_w1": ("DataLoader epoch, 4000 samples x 50 us transform, 1 worker", "samples", 4000),
    "xform_w2": ("DataLoader epoch, 4000 samples x 50 us transform, 2 workers", "samples", 4000),
}
MM = ("mm256", "mm1024", "mm2048")

TORCH_CONFIGS = [
    ("2t", 2, {}),
    ("2t-passive", 2, {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("2t-blas1", 2, {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}),
    ("1t", 1, {}),
]
THREAD_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "GOMP_SPINCOUNT", "CTORCH_NUM_THREADS", "OPENBLAS_CORETYPE")


def clean_env(extra):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(extra)
    return env


def run(cmd, env, what):
    """Runs one benchmark process; returns ({name: [samples]}, {info key: value})."""
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        print("  (%s: timed out)" % what, file=sys.stderr)
        return {}, {}
    res, info = {}, {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] == "result":
            res[f[1]] = [float(x) for x in f[3:]]
        elif len(f) >= 2 and f[0] == "info":
            info[f[1]] = " ".join(f[2:])
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        print("  (%s stopped early: %s)" % (what, msg), file=sys.stderr)
    return res, info


def cpu_facts():
    vendor, model, flags, mhz = "", "", set(), 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "vendor_id" and not vendor:
                    vendor = v
                elif k == "model name" and not model:
                    model = v
                elif k == "flags" and not flags:
                    flags = set(v.split())
                elif k == "cpu MHz" and not mhz:
                    mhz = float(v)
    except OSError:
        pass
    return vendor, model, flags, mhz


def peak(ghz_measured):
    """FP32 peak in GFLOP/s (all cores, one core) and the assumption behind it, in words."""
    vendor, model, flags, mhz = cpu_facts()
    cores = os.cpu_count() or 1
    if "avx512f" in flags and vendor == "GenuineIntel":
        lanes, why = 16, "AVX-512, assuming 2 FMA-512 pipes"
    elif "avx2" in flags and "fma" in flags:
        lanes = 8
        why = "AVX2" + ("; AVX-512 runs as two 256-bit halves on AMD" if "avx512f" in flags else "")
    elif "avx" in flags:
        lanes, why = 8, "AVX without FMA: counted as if it had"
    else:
        lanes, why = 4, "SSE"
    ghz, src = (ghz_measured, "measured") if ghz_measured > 0 else (mhz / 1000.0, "from /proc/cpuinfo")
    one = 2 * lanes * 2 * ghz
    text = "%d cores x 2 FMA pipes x %d fp32 lanes (%s) x 2 flops x %.2f GHz (%s) = %.0f GFLOP/s (%.0f per core)" % (
        cores, lanes, why, ghz, src, one * cores, one)
    return one * cores, one, text, model or vendor, cores


def busy_seconds():
    """CPU seconds all processes have been busy (all cores), from /proc/stat; None if unknown."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def fmt_ms(ms):
    return "%.4g ms" % ms


def figure(name, ms):
    desc, kind, amount = COMPARISONS[name]
    if kind == "flop":
        return "%.1f GFLOP/s" % (amount / (ms * 1e-3) / 1e9)
    if kind == "byte":
        return "%.1f GB/s" % (amount / (ms * 1e-3) / 1e9)
    if kind == "step":
        return "%.3f ms per step" % ms
    if kind == "samples":
        return "%.0f samples/s" % (amount / (ms * 1e-3))
    return "%.0f ns/op" % (ms * 1e6 / amount)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--core", required=True, help="path to bench_core")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=25.0)
    ap.add_argument("--only", default=None, help="comma-separated comparison names")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    t_start = time.time()
    busy0, ours0 = busy_seconds(), os.times()
    names = [n for n in COMPARISONS if not args.only or n in args.only.split(",")]
    mm_names = [n for n in names if n in MM]
    common = ["--reps", str(args.reps), "--target-ms", str(args.target_ms)]
    core_only = ["--only", ",".join(names)]
    sgemm_only = ["--only", ",".join("sgemm" + n[2:] for n in mm_names)]

    _, cinfo = run([args.core, "--clock"], clean_env({}), "clock")
    ghz = float(cinfo.get("clock_ghz", "0") or 0)
    peak_all, peak_one, peak_text, cpu, cores = peak(ghz)

    # (side, config) -> {name: samples}
    samples = {}
    tinfo = {}

    def add(key, res):
        d = samples.setdefault(key, {})
        for n, s in res.items():
            d.setdefault(n, []).extend(s)

    jobs = []
    for t in (2, 1):
        jobs.append((("ctorch", "%dt" % t), [args.core, "--threads", str(t)] + common + core_only,
                     {"CTORCH_NUM_THREADS": str(t)}))
    if mm_names:
        for t in (2, 1):
            jobs.append((("sgemm", "%dt" % t), [args.core, "--threads", str(t)] + common + sgemm_only, {}))
    torch_jobs = [(("torch", label), [args.python, os.path.join(HERE, "bench_torch.py"), "--threads", str(t)]
                   + common + ["--only", ",".join(names)], env) for label, t, env in TORCH_CONFIGS]
    # alternate the two sides within a round
    order = []
    for i in range(max(len(jobs), len(torch_jobs))):
        if i < len(jobs):
            order.append(jobs[i])
        if i < len(torch_jobs):
            order.append(torch_jobs[i])
    for r in range(args.rounds):
        for key, cmd, env in order:
            res, info = run(cmd, clean_env(env), "%s %s" % key)
            if key[0] == "torch":
                tinfo.update(info)
            add(key, res)

    def med(key, name):
        s = samples.get(key, {}).get(name)
        return statistics.median(s) if s else None

    print("ctorch vs PyTorch %s (%s BLAS) on %s, %d cores; ctorch uses %s" % (
        tinfo.get("torch_version", "?"), tinfo.get("torch_blas", "?"), cpu, cores, cinfo.get("openblas", "OpenBLAS")))
    print("FP32 peak assumption: %s" % peak_text)
    print("x = PyTorch time / ctorch time (> 1: ctorch faster): ctorch at 2 threads against PyTorch's fastest of")
    print("2 threads, 2 threads + OMP_WAIT_POLICY=PASSIVE, 2 threads + OPENBLAS/MKL_NUM_THREADS=1, and 1 thread;")
    print("medians of %d rounds x %d samples, each configuration in its own process, alternating." % (
        args.rounds, args.reps))
    print("Ratios within about 25% of 1 are inside this shared machine's run-to-run noise.")
    print()
    for name in names:
        desc, kind, _ = COMPARISONS[name]
        c2, c1 = med(("ctorch", "2t"), name), med(("ctorch", "1t"), name)
        tor = [(label, med(("torch", label), name)) for label, _, _ in TORCH_CONFIGS]
        tor_ok = [(l, m) for l, m in tor if m is not None]
        best = min(tor_ok, key=lambda x: x[1]) if tor_ok else None
        if c2 is None or best is None:
            print("speedup %s n/a" % name)
            print("  %s: %s" % (desc, "no ctorch result" if c2 is None else "no PyTorch result"))
            continue
        print("speedup %s %.2f" % (name, best[1] / c2))

        def ctorch_fig(ms, threads):
            s = "%s (%s" % (fmt_ms(ms), figure(name, ms))
            if kind == "flop":
                pk = peak_all if threads == 2 else peak_one
                s += ", %.2f of %s peak" % (COMPARISONS[name][2] / (ms * 1e-3) / 1e9 / pk,
                                            "%d-core" % cores if threads == 2 else "1-core")
            return s + ")"

        line = "  %s: ctorch 2t %s" % (desc, ctorch_fig(c2, 2))
        if c1 is not None:
            line += ", 1t %s" % ctorch_fig(c1, 1)
        print(line)
        print("  PyTorch: " + ", ".join("%s %s" % (l, fmt_ms(m)) for l, m in tor_ok)
              + "; best %s (%s)" % (best[0], figure(name, best[1])))
        t2, t1 = dict(tor_ok).get("2t"), dict(tor_ok).get("1t")
        same = []
        if t2 is not None:
            same.append("2t vs 2t %.2f" % (t2 / c2))
        if t1 is not None and c1 is not None:
            same.append("1t vs 1t %.2f" % (t1 / c1))
        if same:
            print("  same thread count: " + ", ".join(same))
        if name in MM:
            s2, s1 = med(("sgemm", "2t"), "sgemm" + name[2:]), med(("sgemm", "1t"), "sgemm" + name[2:])
            if s2 is not None:
                print("speedup %s_vs_sgemm %.2f" % (name, s2 / c2))
                line = "  cblas_sgemm called directly (OpenBLAS's own threads): 2t %s (%s)" % (fmt_ms(s2), figure(name, s2))
                if s1 is not None and c1 is not None:
                    line += ", 1t %s (%s); 1t vs 1t %.2f" % (fmt_ms(s1), figure(name, s1), s1 / c1)
                print(line)
    print()
    wall = time.time() - t_start
    busy1, ours1 = busy_seconds(), os.times()
    line = "bench/run took %.0f s" % wall
    if busy0 is not None and busy1 is not None and wall > 0:
        ours = (ours1.children_user + ours1.children_system + ours1.user + ours1.system) - (
            ours0.children_user + ours0.children_system + ours0.user + ours0.system)
        others = max(0.0, (busy1 - busy0) - ours) / wall
        line += "; other processes kept %.2f cores busy on average meanwhile" % others
        if others > 0.2:
            line += " (the figures above shared the machine: rerun when it is quiet)"
    print(line)


if __name__ == "__main__":
    main()
