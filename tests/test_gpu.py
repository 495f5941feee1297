"""The same code on CUDA: forward, backward, SGD, entrenar_FFNN and the benchmark, compared with the CPU.

Every test here needs a CUDA device and says so when it skips. (tests/test_network.py and
tests/test_train.py hold one CUDA test each: backward on a small float64 network, and a short
training run; these extend them to every activation, learnable β/α, float32, index and one-hot
targets, several SGD steps with momentum, the same training history as on the CPU, bad targets,
and the benchmark's CUDA path.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as Fn

import backprop as bp
from backprop import ACTIVATIONS

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")

TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def twins(acts, dtype=torch.float64, learn=True, seed=0):
    """The same network on the CPU and on CUDA, with biases and β/α away from their defaults."""
    cpu = bp.FFNN(12, [9, 7, 5][: len(acts)], acts, 4, dtype=dtype, beta=0.8, alpha=1.3,
                  learn_activation_params=learn, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for b in [*cpu.bs, cpu.c]:
            b.normal_(0, 0.3, generator=torch.Generator().manual_seed(seed + 1))
    gpu = bp.FFNN(12, [9, 7, 5][: len(acts)], acts, 4, dtype=dtype, beta=0.8, alpha=1.3,
                  learn_activation_params=learn, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu


def assert_same_grads(cpu, gpu, dtype):
    for (name, p), q in zip(cpu.named_parameters(), gpu.parameters()):
        assert q.grad is not None and q.grad.is_cuda, name
        torch.testing.assert_close(q.grad.cpu(), p.grad, **TOL[dtype], msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_forward_and_backward_match_the_cpu(act, dtype):
    cpu, gpu = twins([act, act], dtype)
    x, y = torch.randn(16, 12, dtype=dtype), torch.randint(0, 4, (16,))
    with torch.no_grad():
        y_cpu, y_gpu = cpu(x), gpu(x.cuda())
        assert y_gpu.is_cuda
        torch.testing.assert_close(y_gpu.cpu(), y_cpu, **TOL[dtype])
        cpu.backward(x, y, y_cpu)
        gpu.backward(x.cuda(), y.cuda(), y_gpu)
    assert_same_grads(cpu, gpu, dtype)


@pytest.mark.parametrize("target", ["index", "one-hot"])
def test_mixed_activations_with_learnable_and_fixed_parameters(target):
    for learn in (True, False):
        cpu, gpu = twins(["swish", "relu", "celu"], learn=learn)
        x = torch.randn(10, 12, dtype=torch.float64)
        y = torch.randint(0, 4, (10,))
        if target == "one-hot":
            y = Fn.one_hot(y, 4).double()
        with torch.no_grad():
            cpu.backward(x, y, cpu(x))
            gpu.backward(x.cuda(), y.cuda(), gpu(x.cuda()))
        assert_same_grads(cpu, gpu, torch.float64)


def test_backward_recomputes_on_cuda_when_the_record_is_stale():
    cpu, gpu = twins(["relu", "swish"])
    x, y = torch.randn(8, 12, dtype=torch.float64), torch.randint(0, 4, (8,))
    with torch.no_grad():
        y_cpu, y_gpu = cpu(x), gpu(x.cuda())
        gpu(torch.randn(3, 12, dtype=torch.float64, device="cuda"))  # another batch in between
        cpu.backward(x, y, y_cpu)
        gpu.backward(x.cuda(), y.cuda(), y_gpu)
    assert_same_grads(cpu, gpu, torch.float64)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_steps_match_the_cpu(momentum):
    cpu, gpu = twins(["relu", "celu"])
    opt_cpu = bp.SGD(cpu.parameters(), lr=0.1, momentum=momentum)
    opt_gpu = bp.SGD(gpu.parameters(), lr=0.1, momentum=momentum)
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        x, y = torch.randn(8, 12, dtype=torch.float64, generator=g), torch.randint(0, 4, (8,), generator=g)
        with torch.no_grad():
            cpu.backward(x, y, cpu(x))
            gpu.backward(x.cuda(), y.cuda(), gpu(x.cuda()))
        opt_cpu.step()
        opt_gpu.step()
    for (name, p), q in zip(cpu.named_parameters(), gpu.parameters()):
        assert q.is_cuda
        torch.testing.assert_close(q.detach().cpu(), p.detach(), **TOL[torch.float64], msg=lambda m: f"{name}: {m}")


def test_training_history_matches_the_cpu():
    data = bp.RandomDataset(96, 12, 4, seed=0, dtype=torch.float64)
    histories = {}
    for device in ("cpu", "cuda"):
        red, _ = twins(["relu", "swish"])
        opt = bp.SGD(red.parameters(), lr=0.2, momentum=0.5)
        loss, acc = bp.entrenar_FFNN(red, data, opt, epochs=3, batch_size=16, device=device,
                                     generator=torch.Generator().manual_seed(0), verbose=False)
        assert red.U.device.type == device
        histories[device] = (loss, acc, bp.calcula_acierto(red, data, device=device))
    (loss_cpu, acc_cpu, final_cpu), (loss_gpu, acc_gpu, final_gpu) = histories["cpu"], histories["cuda"]
    assert loss_gpu == pytest.approx(loss_cpu, rel=1e-9, abs=1e-12)
    assert acc_gpu == acc_cpu and final_gpu == final_cpu


def test_bad_targets_raise_the_same_errors_on_cuda():
    """Out-of-range class indices must be caught before any kernel reads them: on CUDA an
    out-of-bounds index would be a device-side assert, fatal to the whole process."""
    _, gpu = twins(["relu"])
    x = torch.randn(5, 12, dtype=torch.float64, device="cuda")
    y_pred = gpu(x)
    with pytest.raises(IndexError, match="class index 4, out of range for 4 classes"):
        gpu.backward(x, torch.tensor([0, 1, 2, 4, 0], device="cuda"), y_pred)
    with pytest.raises(IndexError, match="class index -1, out of range for 4 classes"):
        gpu.backward(x, torch.tensor([0, 1, -1, 3, 0], device="cuda"), y_pred)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        gpu.backward(x, torch.zeros(4, dtype=torch.long, device="cuda"), y_pred)
    gpu.backward(x, torch.tensor([0, 1, 2, 3, 0], device="cuda"), y_pred)  # and the device still works
    assert gpu.U.grad.is_cuda


def test_the_benchmark_runs_on_cuda():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backprop.benchmark import check_equivalence, measure

    check_equivalence("swish", B=16, learnable=True, device="cuda")
    row = measure("relu", B=32, device="cuda", reps=3, block_s=0.001)
    assert row.ours_s > 0 and row.torch_s > 0 and row.bound_s > 0
    assert row.ours_bytes > 0 and row.torch_bytes > 0
