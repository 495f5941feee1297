"""Shared test helpers: the independent PyTorch oracle every test compares the package with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as Fn
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_WEIGHTS = ROOT.parent / "shared" / "data" / "tarea1-mnist-weights"


# --- the oracle: activations and the network written with torch built-ins --------------------------

def ref_celu(u, alpha):
    """celu with a differentiable alpha (F.celu takes alpha as a Python float only). The inner
    ``where`` keeps exp away from large positive u (whose inf would poison the gradient) while
    still differentiating to exp(0) = 1 at u = 0."""
    negative = torch.where(u > 0, torch.zeros_like(u), u)
    return torch.where(u > 0, u, alpha * torch.expm1(negative / alpha))


REFERENCE = {
    "sig": lambda u, p: torch.sigmoid(u),
    "tanh": lambda u, p: torch.tanh(u),
    "relu": lambda u, p: Fn.relu(u),
    "swish": lambda u, p: u * torch.sigmoid(p * u),
    "celu": lambda u, p: ref_celu(u, p),
}


def reference_gradients(red, x, y):
    """∂L/∂θ for every parameter of ``red`` by autograd, through a network written with torch
    built-ins (F.linear-style products, torch activations, F.cross_entropy on the logits) that
    shares only the parameter *values* with ``red``."""
    params = {name: p.detach().clone().requires_grad_(True) for name, p in red.named_parameters()}
    h = x.reshape(x.shape[0], -1).to(red.U.dtype)
    for k, act in enumerate(red.activations, start=1):
        u = h @ params[f"Ws.{k - 1}"] + params[f"bs.{k - 1}"]
        p = None
        if act.param is not None:
            key = f"act_params.{act.param}{k}"
            p = params[key] if key in params else red.activation_param(k).detach()
        h = REFERENCE[act.name](u, p)
    logits = h @ params["U"] + params["c"]
    target = y if y.dim() == 1 else y.to(logits.dtype)
    loss = Fn.cross_entropy(logits, target)
    loss.backward()
    return {name: t.grad for name, t in params.items()}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def shared_weights():
    """The Tarea 1 pretrained MNIST weights as tensors, or skip with the reason."""
    if not SHARED_WEIGHTS.is_dir():
        pytest.skip(f"the course's pretrained weights are not here ({SHARED_WEIGHTS}); they exist in CI only")
    def load(name):
        rows = [[float(v) for v in line.split()] for line in (SHARED_WEIGHTS / f"{name}.txt").read_text().splitlines() if line.strip()]
        return torch.tensor(rows).squeeze(-1) if all(len(r) == 1 for r in rows) else torch.tensor(rows)

    return [load("W1"), load("W2")], load("U"), [load("b1"), load("b2")], load("c")
