r"""One training step of ``backprop.FFNN`` against the same network in plain PyTorch.

The engine of ``python -m benchmarks`` (run from the repository root) and of the book's appendix
"¿Qué tan rápido es nuestro backward?"; it lives in the package so that the appendix runs in
Colab too.

*Ours*: ``y_pred = red(x)``, ``red.backward(x, y, y_pred)``, ``optimizador.step()`` under
``torch.no_grad()``, exactly as ``entrenar_FFNN`` does it. *PyTorch*: ``nn.Linear`` layers with the
same activations, ``F.cross_entropy`` on the logits, ``loss.backward()`` and ``torch.optim.SGD``
(with its defaults), after ``zero_grad()``. Both start from the same weights, see the same batch,
in float32, on the same device, with the same threads.

Our step does not compute the loss: its gradient :math:`(\hat y - y)/B` does not need it, while
autograd has to compute it to start ``loss.backward()``. ``entrenar_FFNN`` computes it, separately,
to report it.

The *bound* is the time of the step's matrix products alone, measured in the same run on tensors
of the same shapes, with the package's layout (:math:`W` of shape ``(in, out)``): the three of the
forward pass :math:`h^{(\ell-1)} W^{(\ell)}`, the three weight gradients
:math:`h^{(\ell-1)\top} \partial\mathcal{L}/\partial u^{(\ell)}` and the two input gradients
:math:`\partial\mathcal{L}/\partial u^{(\ell+1)} W^{(\ell+1)\top}` (no :math:`\partial\mathcal{L}/\partial x`).
A step cannot be faster than its products, so ``bound / step`` is the fraction of the bound reached.
The same products in ``nn.Linear``'s layout (:math:`W` of shape ``(out, in)``, as autograd computes
them) are timed too, as ``bound_linear``.

Timing: every contender is warmed up, then the contenders alternate (ABC, CBA, ABC, ...) in
blocks of a few milliseconds, so that a change in the machine's load touches all of them alike;
the time of a step is the median over blocks of the mean step time within the block.

Peak memory: the most bytes that the step's own tensors hold at once (gradients, activations kept
for ``backward``, temporaries, caches), counted from a fresh network, so that what a step keeps
for the next one is counted too; the weights and the batch are not counted (they are the same for
both). On the CPU it is the running sum of the allocations and frees that ``torch.profiler``
records (``profile_memory=True``) over three steps; on CUDA, ``torch.cuda.max_memory_allocated``.
Memory that MKL or oneDNN take outside PyTorch's allocator is not seen, on either side.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as Fn
from torch import nn

from .network import FFNN
from .optim import SGD

SIZES = (784, 256, 128, 10)
BATCHES = (1, 32, 128, 1024)
# (activation, learnable β/α): swish and celu are measured both ways, see `torch_activation`.
VARIANTS = (("relu", False), ("sig", False), ("tanh", False), ("swish", False), ("celu", False),
            ("swish", True), ("celu", True))


# --- the two networks ------------------------------------------------------------------------------

class Swish(nn.Module):
    """swish with a learnable β, as one writes it in plain PyTorch: ``u * sigmoid(β u)``."""

    def __init__(self, beta: float = 1.0, **factory):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(beta, **factory))

    def forward(self, u):
        return u * torch.sigmoid(self.beta * u)


class CELU(nn.Module):
    """celu with a learnable α (``F.celu`` takes α as a Python float, so autograd cannot reach it),
    written without ``torch.where``, whose comparison is slow on some CPUs: relu(u) + α expm1(min(u, 0)/α)."""

    def __init__(self, alpha: float = 1.0, **factory):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(alpha, **factory))

    def forward(self, u):
        return torch.relu(u) + self.alpha * torch.expm1(u.clamp(max=0) / self.alpha)


def torch_activation(name: str, learnable: bool, **factory) -> nn.Module:
    """PyTorch's own module for each activation; with β = α = 1 fixed, swish is ``nn.SiLU`` and
    celu is ``nn.CELU``, one fused kernel each way; learnable β/α need the modules above."""
    if learnable:
        return {"swish": Swish, "celu": CELU}[name](**factory)
    return {"relu": nn.ReLU, "sig": nn.Sigmoid, "tanh": nn.Tanh, "swish": nn.SiLU, "celu": nn.CELU}[name]()


def variant_name(act: str, learnable: bool) -> str:
    return act + (" (β aprendible)" if act == "swish" and learnable else " (α aprendible)" if learnable else "")


@dataclass
class Pair:
    """The same network twice, at the same weights, and one batch; ``ours()`` and ``torch()`` each
    run one training step, ``bound()`` and ``bound_linear()`` the step's matrix products alone."""

    ours: Callable[[], None]
    torch: Callable[[], None]
    bound: Callable[[], None]
    bound_linear: Callable[[], None]
    red: FFNN
    net: nn.Sequential
    optimizador: SGD
    optimizer: torch.optim.SGD
    x: torch.Tensor
    y: torch.Tensor


def make_pair(act: str = "relu", B: int = 128, sizes: Sequence[int] = SIZES, learnable: bool = False,
              device: str = "cpu", lr: float = 0.01, seed: int = 0) -> Pair:
    F, *hidden, C = sizes
    factory = {"dtype": torch.float32, "device": device}
    gen = torch.Generator().manual_seed(seed)
    red = FFNN(F, hidden, [act] * len(hidden), C, learn_activation_params=learnable, generator=gen,
                  dtype=torch.float32).to(device)
    layers = []
    for W, b in zip([*red.Ws, red.U], [*red.bs, red.c]):
        linear = nn.Linear(W.shape[0], W.shape[1], **factory)
        with torch.no_grad():
            linear.weight.copy_(W.t())
            linear.bias.copy_(b)
        layers += [linear, torch_activation(act, learnable, **factory)]
    net = nn.Sequential(*layers[:-1])  # no activation after the output layer: the logits
    x = torch.rand(B, F, generator=gen).to(device)
    y = torch.randint(0, C, (B,), generator=gen).to(device)

    optimizador = SGD(red.parameters(), lr=lr)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)

    def ours():
        with torch.no_grad():
            y_pred = red(x)
            red.backward(x, y, y_pred)
            optimizador.step()

    def torch_step():
        optimizer.zero_grad()
        loss = Fn.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()

    bound, bound_linear = _products(B, sizes, gen, factory)
    return Pair(ours, torch_step, bound, bound_linear, red, net, optimizador, optimizer, x, y)


def gradients(pair: Pair) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """After one step of each side from the same weights: ``(name, ours, autograd's)`` for every
    gradient, in our layout (``nn.Linear`` keeps :math:`W^\\top`)."""
    ours = dict(pair.red.named_parameters())
    linears = [m for m in pair.net if isinstance(m, nn.Linear)]
    names = [f"Ws.{i}" for i in range(len(linears) - 1)] + ["U"]
    biases = [f"bs.{i}" for i in range(len(linears) - 1)] + ["c"]
    rows = []
    for W, b, linear in zip(names, biases, linears):
        rows.append((f"∂L/∂{W}", ours[W].grad, linear.weight.grad.t()))
        rows.append((f"∂L/∂{b}", ours[b].grad, linear.bias.grad))
    params = [m for m in pair.net if not isinstance(m, nn.Linear) and any(True for _ in m.parameters())]
    for (name, p), m in zip(((n, p) for n, p in ours.items() if n.startswith("act_params")), params):
        rows.append((f"∂L/∂{name}", p.grad, next(m.parameters()).grad))
    return rows


def check_equivalence(act: str = "relu", B: int = 32, learnable: bool = False, sizes: Sequence[int] = SIZES,
                      device: str = "cpu") -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """One step of each side on a fresh pair: the gradients must agree (float32 tolerances), or the
    two sides would not be computing the same thing. Returns the rows of :func:`gradients`."""
    pair = make_pair(act, B, sizes, learnable, device)
    pair.ours()
    pair.torch()
    rows = gradients(pair)
    for name, ours, ref in rows:
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6, msg=lambda m: f"{variant_name(act, learnable)}, B={B}, {name}: {m}")
    return rows


def _products(B: int, sizes: Sequence[int], gen: torch.Generator, factory: dict):
    """The step's matrix products on random tensors of the same shapes, written into tensors
    allocated once, in our layout (W: in × out) and in nn.Linear's (W: out × in)."""
    rand = lambda *shape: torch.randn(*shape, generator=gen).to(**factory)  # noqa: E731
    L = len(sizes) - 1
    hs = [rand(B, d) for d in sizes]  # h^(0) = x, ..., and the ∂L/∂u^(l), which have the same shapes
    Ws = [rand(a, b) for a, b in zip(sizes, sizes[1:])]
    Wts = [W.t().contiguous() for W in Ws]
    us = [torch.empty(B, d, **factory) for d in sizes[1:]]
    dWs = [torch.empty(a, b, **factory) for a, b in zip(sizes, sizes[1:])]
    dWts = [torch.empty(b, a, **factory) for a, b in zip(sizes, sizes[1:])]
    ghs = [torch.empty(B, d, **factory) for d in sizes[:-1]]

    def bound():
        for l in range(L):
            torch.mm(hs[l], Ws[l], out=us[l])  # u = h W
        for l in range(L):
            torch.mm(hs[l].t(), hs[l + 1], out=dWs[l])  # ∂L/∂W = hᵀ ∂L/∂u
        for l in range(1, L):
            torch.mm(hs[l + 1], Ws[l].t(), out=ghs[l])  # ∂L/∂h = ∂L/∂u Wᵀ

    def bound_linear():
        for l in range(L):
            torch.mm(hs[l], Wts[l].t(), out=us[l])
        for l in range(L):
            torch.mm(hs[l + 1].t(), hs[l], out=dWts[l])
        for l in range(1, L):
            torch.mm(hs[l + 1], Wts[l], out=ghs[l])

    return bound, bound_linear


def matmul_flops(B: int, sizes: Sequence[int] = SIZES) -> int:
    """Floating-point operations of the step's matrix products: 2·B·d_in·d_out for each of the
    forward products and weight gradients, and for the input gradients of every layer but the first."""
    layers = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2 * B * (2 * sum(layers) + sum(layers[1:]))


# --- timing ----------------------------------------------------------------------------------------

def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def time_interleaved(fns: dict[str, Callable[[], None]], reps: int = 25, block_s: float = 0.004,
                     warmup_s: float = 0.05, device: str = "cpu", clock: str = "wall") -> dict[str, list[float]]:
    """Seconds per call of each function: ``reps`` samples each, one sample being the mean over a
    block of calls lasting about ``block_s``; the functions alternate, in forward then reverse order.

    ``clock="wall"`` (the default) measures elapsed time; ``clock="cpu"`` the CPU time of the
    process, which a busy machine disturbs less (with one thread it is the work done), but which
    also counts the time threads spend waiting for each other."""
    now = CLOCKS[clock]
    per_block = {}
    for name, f in fns.items():  # warm up, and size the blocks
        f()
        _sync(device)
        n, start = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - start < warmup_s:
            f()
            n += 1
        _sync(device)
        per_call = (time.perf_counter() - start) / n
        per_block[name] = max(1, round(block_s / per_call))
    samples = {name: [] for name in fns}
    names = list(fns)
    for r in range(reps):
        for name in (names if r % 2 == 0 else names[::-1]):
            f, n = fns[name], per_block[name]
            _sync(device)
            start = now()
            for _ in range(n):
                f()
            _sync(device)
            samples[name].append((now() - start) / n)
    return samples


def time_phases(pair: Pair, steps: int = 200, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Median seconds of each phase of a step, for each side, over ``steps`` steps (after 20 of
    warm-up), the two sides alternating step by step. Ours: forward, backward, SGD; autograd:
    zero_grad, forward (with the loss), backward, SGD."""
    red, net, x, y = pair.red, pair.net, pair.x, pair.y

    def ours():
        t = [time.perf_counter()]
        with torch.no_grad():
            y_pred = red(x)
            _sync(device)
            t.append(time.perf_counter())
            red.backward(x, y, y_pred)
            _sync(device)
            t.append(time.perf_counter())
            pair.optimizador.step()
            _sync(device)
            t.append(time.perf_counter())
        return t

    def autograd():
        t = [time.perf_counter()]
        pair.optimizer.zero_grad()
        t.append(time.perf_counter())
        loss = Fn.cross_entropy(net(x), y)
        _sync(device)
        t.append(time.perf_counter())
        loss.backward()
        _sync(device)
        t.append(time.perf_counter())
        pair.optimizer.step()
        _sync(device)
        t.append(time.perf_counter())
        return t

    names = {"ours": ("forward", "backward", "SGD"), "torch": ("zero_grad", "forward", "backward", "SGD")}
    samples = {side: {phase: [] for phase in phases} for side, phases in names.items()}
    for i in range(steps + 20):
        for side, f in (("ours", ours), ("torch", autograd)) if i % 2 == 0 else (("torch", autograd), ("ours", ours)):
            t = f()
            if i >= 20:
                for phase, a, b in zip(names[side], t, t[1:]):
                    samples[side][phase].append(b - a)
    return {side: {phase: statistics.median(v) for phase, v in phases.items()} for side, phases in samples.items()}


# --- memory ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 for a moment: the profiler's C++ side prints a line to it each
    time it starts and stops, which Python's ``sys.stderr`` cannot catch."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(step: Callable[[], None], steps: int = 3, device: str = "cpu") -> int:
    """The most bytes held at once by tensors allocated during ``steps`` calls of ``step``
    (call it on a network that has not taken a step yet)."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(steps):
            step()
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU]
    live = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        live += e.nbytes()
        peak = max(peak, live)
    return peak


# --- one configuration, and the whole benchmark ------------------------------------------------------

@dataclass
class Row:
    act: str
    learnable: bool
    B: int
    ours_s: float
    torch_s: float
    bound_s: float
    bound_linear_s: float
    ours_bytes: Optional[int] = None
    torch_bytes: Optional[int] = None
    sizes: Sequence[int] = SIZES

    @property
    def name(self) -> str:
        return variant_name(self.act, self.learnable)

    @property
    def ratio(self) -> float:
        """How many times faster our step is: autograd's median over ours."""
        return self.torch_s / self.ours_s

    @property
    def flops(self) -> int:
        return matmul_flops(self.B, self.sizes)

    def gflops(self, seconds: float) -> float:
        return self.flops / seconds / 1e9

    def of_bound(self, seconds: float) -> float:
        return self.bound_s / seconds

    def examples_per_s(self, seconds: float) -> float:
        return self.B / seconds


def measure(act: str = "relu", B: int = 128, learnable: bool = False, sizes: Sequence[int] = SIZES,
            device: str = "cpu", reps: int = 25, block_s: float = 0.004, memory: bool = True,
            clock: str = "wall") -> Row:
    pair = make_pair(act, B, sizes, learnable, device)
    samples = time_interleaved({"ours": pair.ours, "torch": pair.torch, "bound": pair.bound,
                                "bound_linear": pair.bound_linear}, reps=reps, block_s=block_s, device=device, clock=clock)
    med = {k: statistics.median(v) for k, v in samples.items()}
    row = Row(act, learnable, B, med["ours"], med["torch"], med["bound"], med["bound_linear"], sizes=sizes)
    if memory:
        fresh = make_pair(act, B, sizes, learnable, device)
        row.ours_bytes = peak_memory(fresh.ours, device=device)
        row.torch_bytes = peak_memory(fresh.torch, device=device)
    return row


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = (f"torch {torch.__version__}, {torch.get_num_threads()} threads (the same for both sides), "
            f"{os.cpu_count()} CPUs ({cpu})")
    if load:
        text += f",\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (runnable processes, averaged over 1, 5 and 15 min)"
    return text


def table(rows: Sequence[Row], compact: bool = False) -> str:
    """Medians in ms, the ratio, GFLOP/s and % of the matrix-product bound, peak memory in MiB.
    ``compact=True`` keeps B, the medians, the ratio, the bound and the percentages."""
    columns = [("activation", 20, "<", lambda r: r.name), ("B", 5, ">", lambda r: f"{r.B}"),
               ("ours ms", 8, ">", lambda r: f"{r.ours_s * 1e3:.3f}"), ("torch ms", 8, ">", lambda r: f"{r.torch_s * 1e3:.3f}"),
               ("ratio", 5, ">", lambda r: f"{r.ratio:.2f}"), ("bound ms", 8, ">", lambda r: f"{r.bound_s * 1e3:.3f}"),
               ("ours GF/s", 9, ">", lambda r: f"{r.gflops(r.ours_s):.1f}"),
               ("torch GF/s", 10, ">", lambda r: f"{r.gflops(r.torch_s):.1f}"),
               ("ours %b", 7, ">", lambda r: f"{100 * r.of_bound(r.ours_s):.0f}%"),
               ("torch %b", 8, ">", lambda r: f"{100 * r.of_bound(r.torch_s):.0f}%"),
               ("ours MiB", 8, ">", lambda r: "" if r.ours_bytes is None else f"{r.ours_bytes / 2**20:.2f}"),
               ("torch MiB", 9, ">", lambda r: "" if r.torch_bytes is None else f"{r.torch_bytes / 2**20:.2f}")]
    if compact:
        columns = [c for c in columns if c[0] in ("B", "ours ms", "torch ms", "ratio", "bound ms", "ours %b", "torch %b")]
    head = " ".join(f"{name:{align}{width}}" for name, width, align, _ in columns)
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(" ".join(f"{cell(r):{align}{width}}" for _, width, align, cell in columns))
    return "\n".join(lines)


@dataclass
class Target:
    text: str
    holds: bool
    detail: str


def targets(rows: Sequence[Row]) -> list[Target]:
    """The issue's targets on 784-256-128-10, evaluated on the measured rows."""
    out = []
    at = {(r.act, r.learnable, r.B): r for r in rows if tuple(r.sizes) == SIZES}
    relu = at.get(("relu", False, 128))
    if relu:
        out.append(Target("relu, B=128: ours ≥ 1.5× faster than autograd", relu.ratio >= 1.5, f"{relu.ratio:.2f}×"))
        out.append(Target("relu, B=128: ours ≥ 75% of the matrix-product bound", relu.of_bound(relu.ours_s) >= 0.75,
                          f"{100 * relu.of_bound(relu.ours_s):.0f}% (bound {relu.bound_s * 1e3:.3f} ms, "
                          f"ours {relu.ours_s * 1e3:.3f} ms)"))
    for act in ("swish", "celu"):
        for learnable in (False, True):
            r = at.get((act, learnable, 128))
            if r:
                out.append(Target(f"{r.name}, B=128: ours ≥ 1.2× faster", r.ratio >= 1.2, f"{r.ratio:.2f}×"))
    if rows:
        worst = min(rows, key=lambda r: r.ratio)
        out.append(Target("no configuration slower than autograd (ratio ≥ 1)", worst.ratio >= 1.0,
                          f"lowest ratio {worst.ratio:.2f}× ({worst.name}, B={worst.B})"))
    with_mem = [r for r in rows if r.ours_bytes is not None]
    if with_mem:
        worst = max(with_mem, key=lambda r: r.ours_bytes / max(r.torch_bytes, 1))
        out.append(Target("peak memory of a step ≤ autograd's", all(r.ours_bytes <= r.torch_bytes for r in with_mem),
                          f"largest ours/autograd {worst.ours_bytes / max(worst.torch_bytes, 1):.2f} "
                          f"({worst.name}, B={worst.B}: {worst.ours_bytes / 2**20:.2f} vs {worst.torch_bytes / 2**20:.2f} MiB)"))
    return out


def run(batches: Sequence[int] = BATCHES, variants=VARIANTS, sizes: Sequence[int] = SIZES, device: str = "cpu",
        reps: int = 25, block_s: float = 0.004, memory: bool = True, progress: Optional[Callable[[Row], None]] = None,
        clock: str = "wall") -> list[Row]:
    rows = []
    for act, learnable in variants:
        check_equivalence(act, 32, learnable, sizes, device)  # the two sides compute the same gradients
        for B in batches:
            row = measure(act, B, learnable, sizes, device, reps, block_s, memory, clock)
            rows.append(row)
            if progress:
                progress(row)
    return rows
