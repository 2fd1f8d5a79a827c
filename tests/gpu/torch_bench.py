#!/usr/bin/env python3
"""PyTorch side of the GPU benchmark (see tests/gpu/README.md).

The same workloads as tests/GpuBenchmarks, on the same GPU, fp32 with TF32 off:
  gemm                       torch.matmul, 4096 x 4096 @ 4096 x 4096
  elementwise                relu(x*a+b)*sigmoid(x)+c, x[65536, 1024], a, b, c[1024], eager
  copy                       y.copy_(x) of 64M floats (256 MiB): the copy bandwidth, GB/s = 2 * bytes / t
  transformer_block_eager    pre-LN encoder block (8 x 512 x 768, 12 heads, FFN 3072, GELU erf), eager
  transformer_block_compile  the same module under torch.compile (default mode); a failure is recorded, not fatal

Every timed iteration is: CUDA event, one call, CUDA event, synchronize; after warm-up. Reports the median and p90 of
the per-iteration event times (ms), the wall time of the same iterations, and the mean of back-to-back calls.
Writes one JSON record per measurement (schema aot-gpu-bench/1, shared with GpuBenchmarks --json).

Usage: python3 tests/gpu/torch_bench.py [--json OUT] [--small] [--device cuda|cpu] [--budget S] [--only NAMES]
                                        [--no-compile] [--compile-timeout S]
"""

import argparse
import datetime
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
import traceback

SCHEMA = "aot-gpu-bench/1"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="write the records here")
    p.add_argument("--small", action="store_true", help="small sizes (smoke test): GEMM 64, chain 64K, block 1x16x64")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (smoke test of this script only)")
    p.add_argument("--budget", type=float, default=3.0, help="seconds of timed iterations per workload (default 3)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up calls (at least 0.25 s of warm-up is done anyway)")
    p.add_argument("--only", default="", help="comma-separated subset of: gemm, elementwise, copy, transformer, compile")
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    p.add_argument("--compile-timeout", type=float, default=120.0,
                   help="give up on torch.compile after this many seconds (default 120)")
    return p.parse_args(argv)


class Bench:
    def __init__(self, torch, args):
        self.torch = torch
        self.args = args
        self.device = torch.device(args.device)
        self.cuda = self.device.type == "cuda"
        self.records = []
        self.rows = []
        self.ok = True

    # ---- records --------------------------------------------------------------------------------------------------

    def record(self, rec):
        self.records.append(rec)
        return rec

    def error(self, name, stage, exc):
        msg = f"{type(exc).__name__}: {exc}"
        if len(msg) > 2000:
            msg = msg[:2000] + "..."
        print(f"  ERROR during {stage}: {msg}", flush=True)
        traceback.print_exc(file=sys.stderr)
        self.record({"type": "error", "name": name, "stage": stage, "message": msg})

    # ---- timing ---------------------------------------------------------------------------------------------------

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def measure(self, fn, min_iters=10, max_iters=200):
        """Per-iteration CUDA-event times (ms) after warm-up, plus wall times and a back-to-back mean."""
        torch = self.torch
        args = self.args
        self.sync()
        t0 = time.perf_counter()
        warm = 0
        while warm < args.warmup or (time.perf_counter() - t0 < 0.25 and warm < 10000):
            fn()
            self.sync()
            warm += 1
        per_run = (time.perf_counter() - t0) / max(warm, 1)
        n = int(min(max(args.budget / per_run if per_run > 0 else max_iters, min_iters), max_iters))

        device_ms, wall_ms = [], []
        for _ in range(n):
            if self.cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                w0 = time.perf_counter()
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize(self.device)
                wall_ms.append((time.perf_counter() - w0) * 1e3)
                device_ms.append(start.elapsed_time(end))
            else:
                w0 = time.perf_counter()
                fn()
                wall_ms.append((time.perf_counter() - w0) * 1e3)

        k = min(max(n, 3), 50)
        self.sync()
        w0 = time.perf_counter()
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
        for _ in range(k):
            fn()
        if self.cuda:
            end.record()
        self.sync()
        pipelined = (start.elapsed_time(end) if self.cuda else (time.perf_counter() - w0) * 1e3) / k
        return {
            "device": stats(device_ms) if device_ms else None,
            "wall": stats(wall_ms),
            "pipelined_ms": pipelined,
            "warmup_runs": warm,
            "method": "events" if device_ms else "wall",
        }

    def timing(self, name, description, t, flops=0, nbytes=0, bytes_note=None, extra=None):
        primary = t["device"] if t["method"] == "events" else t["wall"]
        med = primary["median"]
        gflops = flops / (med * 1e-3) / 1e9 if flops else None
        gbps = nbytes / (med * 1e-3) / 1e9 if nbytes else None
        rec = {
            "type": "timing", "name": name, "description": description,
            "median_ms": r6(med), "p90_ms": r6(primary["p90"]), "min_ms": r6(primary["min"]), "mean_ms": r6(primary["mean"]),
            "iterations": primary["count"], "warmup_runs": t["warmup_runs"], "method": t["method"],
            "device_median_ms": r6(t["device"]["median"]) if t["device"] else None,
            "device_p90_ms": r6(t["device"]["p90"]) if t["device"] else None,
            "wall_median_ms": r6(t["wall"]["median"]), "wall_p90_ms": r6(t["wall"]["p90"]),
            "pipelined_ms": r6(t["pipelined_ms"]),
            "flops": flops or None, "gflops": r6(gflops), "bytes": nbytes or None, "bytes_note": bytes_note, "gbps": r6(gbps),
        }
        if extra:
            rec.update(extra)
        self.record(rec)
        thr = f"{num(gflops):>10} GFLOP/s" if gflops else (f"{num(gbps):>10} GB/s" if gbps else "")
        print(f"  time ({t['method']}): median {med:.4f} ms, p90 {primary['p90']:.4f} ms over {primary['count']} runs; "
              f"wall median {t['wall']['median']:.4f} ms; pipelined {t['pipelined_ms']:.4f} ms/run {thr}", flush=True)
        self.rows.append([name, f"{med:.4f}", f"{primary['p90']:.4f}", f"{t['wall']['median']:.4f}",
                          f"{t['pipelined_ms']:.4f}", thr.strip(), t["method"], str(primary["count"])])

    def check(self, name, reference, actual, expected, atol, rtol, note=None, fatal=True):
        """Records a comparison; a failed fatal check makes the script exit 1 (e.g. TF32 silently on)."""
        torch = self.torch
        a = actual.detach().double()
        e = expected.detach().double()
        diff = (a - e).abs()
        finite = bool(torch.isfinite(a).all().item())
        max_abs = float(diff.max().item()) if diff.numel() else 0.0
        max_rel = float((diff / e.abs().clamp_min(1e-6)).max().item()) if diff.numel() else 0.0
        ok = finite and bool((diff <= atol + rtol * e.abs()).all().item())
        if not ok and fatal:
            self.ok = False
        self.record({"type": "check", "name": name, "reference": reference, "compared": int(diff.numel()),
                     "max_abs_diff": r6(max_abs), "max_rel_diff": r6(max_rel), "atol": atol, "rtol": rtol, "ok": ok,
                     "fatal": fatal, "note": note})
        print(f"  check {'ok  ' if ok else 'FAIL'} {reference}: max |diff| {max_abs:.2e}, max rel {max_rel:.2e} "
              f"(atol {atol:g}, rtol {rtol:g})" + (f" [{note}]" if note else ""), flush=True)


def stats(samples):
    s = sorted(samples)
    n = len(s)
    return {"median": statistics.median(s), "p90": s[min(max(math.ceil(0.9 * n) - 1, 0), n - 1)], "min": s[0],
            "mean": sum(s) / n, "count": n}


def num(v):
    """Like the .NET side: one decimal from 100 up, more below, three significant digits under 1."""
    a = abs(v)
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    if a >= 1:
        return f"{v:.3f}"
    return f"{v:.3g}"


def r6(v):
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), 6)


class CompileTimeout(Exception):
    pass


def build_block_module(torch, d, heads, ffn):
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        """Pre-LN encoder block, the same math as tests/GpuBenchmarks/Models/TransformerBlock.cs."""

        def __init__(self):
            super().__init__()
            self.heads = heads
            self.ln1 = nn.LayerNorm(d)
            self.q_proj = nn.Linear(d, d)
            self.k_proj = nn.Linear(d, d)
            self.v_proj = nn.Linear(d, d)
            self.out_proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, ffn)
            self.fc2 = nn.Linear(ffn, d)

        def forward(self, x):
            b, s, dm = x.shape
            hd = dm // self.heads
            h = self.ln1(x)
            q = self.q_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            k = self.k_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            v = self.v_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            p = F.softmax(scores, dim=-1)
            ctx = torch.matmul(p, v).transpose(1, 2).reshape(b, s, dm)
            x1 = x + self.out_proj(ctx)
            return x1 + self.fc2(F.gelu(self.fc1(self.ln2(x1))))  # F.gelu default: the exact erf form

    return Block()


def block_flops(batch, seq, d, heads, ffn):
    tokens = batch * seq
    return 2 * tokens * (4 * d * d + 2 * d * ffn) + 2 * (2 * batch * heads * seq * seq * (d // heads))


def main(argv=None):
    args = parse_args(argv)
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}

    def runs(name):
        return not only or name in only

    t_start = time.perf_counter()
    import torch  # noqa: E402  (imported here so --help works without torch)

    # fp32 everywhere, TF32 off: the comparison is against true fp32 GEMMs.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        torch.set_float32_matmul_precision("highest")
    except Exception:  # older torch
        pass

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: torch.cuda.is_available() is False (use --device cpu for a smoke test)", file=sys.stderr)
        return 2

    bench = Bench(torch, args)
    dev = bench.device
    small = args.small

    root = {"schema": SCHEMA, "suite": "torch",
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "mode": "gpu" if bench.cuda else "cpu", "small": small}
    triton_version = None
    try:
        import triton  # noqa: F401
        triton_version = getattr(triton, "__version__", "?")
    except Exception:
        pass
    root["runtime"] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                       "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
                       "triton": triton_version, "python": platform.python_version()}
    if bench.cuda:
        props = torch.cuda.get_device_properties(dev)
        root["device"] = {"name": props.name, "capability": f"{props.major}.{props.minor}",
                          "memory_bytes": props.total_memory, "multiprocessors": props.multi_processor_count}
    else:
        root["device"] = {"name": platform.processor() or "cpu", "capability": None, "memory_bytes": None}
    root["settings"] = {"allow_tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                        "allow_tf32_cudnn": torch.backends.cudnn.allow_tf32,
                        "float32_matmul_precision": torch.get_float32_matmul_precision(),
                        "budget_seconds": args.budget, "warmup_runs_min": args.warmup}
    print(f"device: {root['device']['name']} (capability {root['device'].get('capability')}), torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}, triton {triton_version}; TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
          f"cudnn {torch.backends.cudnn.allow_tf32}; sizes: {'small' if small else 'full'}", flush=True)

    gen = torch.Generator(device="cpu").manual_seed(0)

    def uniform(shape, lo, hi):
        return (torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo).to(dev)

    with torch.inference_mode():
        # ---- GEMM ----
        if runs("gemm"):
            n = 64 if small else 4096
            name = "gemm"
            desc = f"C = A @ B fp32, {n}x{n} @ {n}x{n}"
            print(f"\n== {name}: {desc} (torch.matmul, TF32 off)", flush=True)
            try:
                a = uniform((n, n), -1, 1)
                b = uniform((n, n), -1, 1)
                c = torch.matmul(a, b)
                rows = min(n, 64)
                ref = torch.matmul(a[:rows].double(), b.double())
                bench.check(name, f"vs float64 on the first {rows} rows", c[:rows], ref, atol=1e-3, rtol=1e-4,
                            note="catches TF32 (10-bit mantissa) being on")
                bench.timing(name, desc, bench.measure(lambda: torch.matmul(a, b, out=c)), flops=2 * n * n * n)
                del a, b, c, ref
            except Exception as e:  # noqa: BLE001
                bench.error(name, "gemm", e)

        # ---- Elementwise chain ----
        if runs("elementwise"):
            rows_, cols = (64, 1024) if small else (65536, 1024)
            name = "elementwise"
            desc = f"y = relu(x*a+b)*sigmoid(x)+c, x[{rows_},{cols}], a,b,c[{cols}] (eager)"
            print(f"\n== {name}: {desc}", flush=True)
            try:
                x = uniform((rows_, cols), -4, 4)
                va, vb, vc = uniform((cols,), -1, 1), uniform((cols,), -1, 1), uniform((cols,), -1, 1)

                def chain():
                    return torch.relu(x * va + vb) * torch.sigmoid(x) + vc

                y = chain()
                xd = x.double()
                ref = torch.relu(xd * va.double() + vb.double()) * torch.sigmoid(xd) + vc.double()
                bench.check(name, "vs float64", y, ref, atol=1e-5, rtol=1e-4)
                del y, xd, ref
                nbytes = 4 * (2 * rows_ * cols + 3 * cols)
                bench.timing(name, desc, bench.measure(chain), nbytes=nbytes,
                             bytes_note="x read once + y written once + a, b, c (the minimum; eager moves more)")
                del x
            except Exception as e:  # noqa: BLE001
                bench.error(name, "elementwise", e)

        # ---- Copy bandwidth ----
        if runs("copy"):
            n = (1 << 16) if small else (64 << 20)
            name = "copy"
            desc = f"y.copy_(x), {n * 4 / (1 << 20):g} MiB"
            print(f"\n== {name}: {desc}", flush=True)
            try:
                x = uniform((n,), -1, 1)
                y = torch.empty_like(x)
                y.copy_(x)
                bench.check(name, "vs source", y, x, atol=0.0, rtol=0.0)
                bench.timing(name, desc, bench.measure(lambda: y.copy_(x)), nbytes=2 * 4 * n,
                             bytes_note="read + write of the buffer")
                del x, y
            except Exception as e:  # noqa: BLE001
                bench.error(name, "copy", e)

        # ---- Transformer block ----
        if runs("transformer") or runs("compile"):
            batch, seq, d, heads, ffn = (1, 16, 64, 4, 128) if small else (8, 512, 768, 12, 3072)
            desc = (f"pre-LN encoder block fp32: batch {batch}, seq {seq}, d_model {d}, {heads} heads of {d // heads}, "
                    f"FFN {ffn}, GELU(erf)")
            flops = block_flops(batch, seq, d, heads, ffn)
            print(f"\n== transformer_block_eager: {desc}", flush=True)
            block = None
            try:
                torch.manual_seed(0)  # nn.Linear's default init: uniform +-1/sqrt(fan_in), like ours
                block = build_block_module(torch, d, heads, ffn).to(dev).eval()
                x = uniform((batch, seq, d), -1, 1)
                eager_out = block(x)
                if runs("transformer"):
                    bench.timing("transformer_block_eager", desc + " (eager)", bench.measure(lambda: block(x)), flops=flops)
            except Exception as e:  # noqa: BLE001
                bench.error("transformer_block_eager", "transformer eager", e)
                block = None

            if block is not None and runs("compile") and not args.no_compile:
                name = "transformer_block_compile"
                print(f"\n== {name}: torch.compile(block) (default mode)", flush=True)
                stage = "torch.compile"
                old_handler = None
                try:
                    if hasattr(signal, "SIGALRM"):
                        def on_alarm(signum, frame):
                            raise CompileTimeout(f"torch.compile did not finish within {args.compile_timeout:.0f} s")
                        old_handler = signal.signal(signal.SIGALRM, on_alarm)
                        signal.alarm(max(1, int(args.compile_timeout)))
                    t0 = time.perf_counter()
                    compiled = torch.compile(block)
                    out = compiled(x)
                    bench.sync()
                    first_ms = (time.perf_counter() - t0) * 1e3
                    if hasattr(signal, "SIGALRM"):
                        signal.alarm(0)
                    bench.record({"type": "compile", "name": name, "first_call_ms": r6(first_ms)})
                    print(f"  compile: first call (tracing + Inductor/Triton compilation) {first_ms:.0f} ms", flush=True)
                    stage = "torch.compile check"
                    bench.check(name, "vs eager", out, eager_out, atol=1e-4, rtol=1e-3, fatal=False,
                                note="informational: Inductor reorders reductions")
                    stage = "torch.compile timing"
                    bench.timing(name, desc + " (torch.compile)", bench.measure(lambda: compiled(x)), flops=flops)
                except BaseException as e:  # noqa: BLE001  (Dynamo/Inductor can raise almost anything)
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    bench.error(name, stage, e)
                finally:
                    if hasattr(signal, "SIGALRM"):
                        signal.alarm(0)
                        if old_handler is not None:
                            signal.signal(signal.SIGALRM, old_handler)

    # ---- summary ----
    print("\ntorch: per-run times in milliseconds (median/p90 of CUDA-event times around each call)")
    header = ["workload", "median", "p90", "wall med", "pipelined", "throughput", "method", "runs"]
    print(table(header, bench.rows), end="")
    root["records"] = bench.records
    root["ok"] = bench.ok and not any(r["type"] == "error" and r["name"] != "transformer_block_compile" for r in bench.records)
    root["total_seconds"] = r6(time.perf_counter() - t_start)
    print(f"total {root['total_seconds']:.1f} s", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(root, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0 if root["ok"] else 1


def table(header, rows):
    allrows = [header] + rows
    cols = max(len(r) for r in allrows)
    width = [max(len(r[c]) if c < len(r) else 0 for r in allrows) for c in range(cols)]
    lines = []
    for i, r in enumerate(allrows):
        cells = [(r[c] if c < len(r) else "") for c in range(cols)]
        cells = [cells[0].ljust(width[0])] + [cells[c].rjust(width[c]) for c in range(1, cols)]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("-" * (sum(width) + 2 * (cols - 1)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
