"""``python -m benchmarks``: one training step of backprop.FFNN against plain PyTorch (the engine is backprop.benchmark)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import torch

from backprop.benchmark import BATCHES, SIZES, VARIANTS, machine, run, table, targets


def uptime() -> str:
    if shutil.which("uptime"):
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return "(uptime not available)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES), help="batch sizes (default: %(default)s)")
    parser.add_argument("--acts", nargs="+", default=None,
                        help="activations among relu sig tanh swish celu swish+ celu+ (+: learnable β/α); default: all")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--reps", type=int, default=25, help="blocks per contender (default: %(default)s)")
    parser.add_argument("--block-ms", type=float, default=4.0, help="length of a block, in ms (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for both sides (default: torch's)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: elapsed time (default); cpu: CPU time of the process, steadier on a busy machine")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    args = parser.parse_args(argv)

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available on this machine", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = VARIANTS
    if args.acts:
        variants = [(a.rstrip("+"), a.endswith("+")) for a in args.acts]
    sizes = "-".join(map(str, SIZES))
    print(f"One training step, {sizes}, float32 on {args.device}: backprop.FFNN (forward + backward + backprop.SGD)")
    print("against nn.Linear + the same activations + F.cross_entropy + loss.backward() + torch.optim.SGD.")
    print(f"Medians ({args.clock} clock) over {args.reps} interleaved blocks of ~{args.block_ms:g} ms. ratio = torch / ours (> 1: ours faster);")
    print("bound = the step's 8 matrix products alone (our layout); GF/s = matmul GFLOP/s; %b = bound / step;")
    print("MiB = peak memory of a step beyond weights and batch. Ours computes no loss value (its gradient needs none).")
    print("Before timing each activation, one step of each side (B=32) must give the same gradients (float32 tolerance).")
    print(f"uptime (start): {uptime()}")
    print(machine())
    print()

    def progress(row):
        print(f"  measured {row.name}, B={row.B}", file=sys.stderr, flush=True)

    rows = run(args.batches, variants, SIZES, args.device, args.reps, args.block_ms / 1e3, not args.no_memory, progress, args.clock)
    print(table(rows))
    print()
    bl = {r.B: r for r in rows}
    print("matrix-product bound in nn.Linear's layout (W: out × in, as autograd computes it), ms: "
          + ", ".join(f"B={B}: {r.bound_linear_s * 1e3:.3f} (ours' layout {r.bound_s * 1e3:.3f})" for B, r in sorted(bl.items())))
    first = [r for r in rows if (r.act, r.learnable) == (rows[0].act, rows[0].learnable)] if rows else []
    print(f"ceiling of the ratio if our step were nothing but its products (torch / bound), {rows[0].name if rows else ''}: "
          + ", ".join(f"B={r.B}: {r.torch_s / r.bound_s:.2f}" for r in first))
    grads = sum(a * b + b for a, b in zip(SIZES, SIZES[1:])) * 4 / 2**20
    print(f"memory: ours keeps its .grad between steps ({grads:.2f} MiB in float32; autograd's zero_grad frees them), "
          "and its forward record until backward ends")
    print("ratios (torch / ours): " + ", ".join(f"{r.name} B={r.B}: {r.ratio:.2f}" for r in rows))
    print()
    print("targets:")
    for t in targets(rows):
        print(f"  [{'met' if t.holds else 'NOT met'}] {t.text}: {t.detail}")
    print()
    print(f"uptime (end): {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
