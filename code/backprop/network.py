r"""The feed-forward network of Tarea 1 with a hand-written backward pass (parts 3a and 3b).

.. math::

    u^{(\ell)} = h^{(\ell-1)} W^{(\ell)} + b^{(\ell)},\quad h^{(\ell)} = f^{(\ell)}(u^{(\ell)}),\quad
    \hat y = \mathrm{softmax}(h^{(L)} U + c),

with :math:`h^{(0)} = x` of shape (B, F), :math:`W^{(\ell)}` of shape :math:`(d_{\ell-1}, d_\ell)`
and :math:`U` of shape :math:`(d_L, C)`. ``forward`` keeps the tensors that ``backward`` needs;
``backward`` computes every gradient by the chain rule, without autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from .activations import Activation, get_activation, relu, softmax
from .losses import check_class_indices, softmax_cross_entropy_grad

__all__ = ["FFNN"]


def _check_count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"FFNN: {name} must be an integer >= {minimum}, got {value!r}")


@dataclass
class _Saved:
    """What ``forward`` leaves for ``backward``: the input and output objects it saw, the inputs
    ``h^(l-1)`` and pre-activations ``u^(l)`` of every hidden layer, ``h^(L)``, and a fingerprint
    of the input, the output and the parameters (``FFNN._key``), so that a stale record is never
    used."""

    x: torch.Tensor
    y_pred: torch.Tensor
    hs: list[torch.Tensor]  # h^(0) (flattened x), h^(1), ..., h^(L)
    us: list[torch.Tensor]  # u^(1), ..., u^(L); for a relu layer, h^(k) (see FFNN._forward)
    key: tuple


class FFNN(nn.Module):
    r"""Feed-forward network ``F -> l_h[0] -> ... -> l_h[-1] -> C`` with softmax output.

    Args:
        F: number of input features (>= 1).
        l_h: sizes of the hidden layers (may be empty).
        l_a: one activation per hidden layer: ``sig``, ``tanh``, ``relu``, ``swish``, ``celu``,
            given as the functions of :mod:`backprop` or by name.
        C: number of classes (>= 2).
        beta, alpha: initial value of the β of every swish layer and the α of every celu layer.
        learn_activation_params: if True (default) each swish/celu layer owns its β/α as a
            learnable ``nn.Parameter``; if False they are fixed buffers.
        init: ``"xavier"`` (Glorot uniform, the default), ``"kaiming"`` (He normal, suited to
            relu) or a float σ for weights drawn from N(0, σ²). Biases start at zero.
        generator: a ``torch.Generator`` for the initial weights (default: the global one).
        dtype, device: of every parameter.
    """

    def __init__(
        self,
        F: int,
        l_h: Sequence[int],
        l_a: Sequence[Union[str, Callable, Activation]],
        C: int,
        *,
        beta: float = 1.0,
        alpha: float = 1.0,
        learn_activation_params: bool = True,
        init: Union[str, float] = "xavier",
        generator: Optional[torch.Generator] = None,
        dtype: Optional[torch.dtype] = None,
        device: Union[str, torch.device, None] = None,
    ):
        super().__init__()
        _check_count("F", F, 1)
        _check_count("C", C, 2)
        l_h, l_a = list(l_h), list(l_a)
        if len(l_h) != len(l_a):
            raise ValueError(f"FFNN: l_h and l_a must have the same length (one activation per hidden layer), got {len(l_h)} and {len(l_a)}")
        for i, d in enumerate(l_h):
            _check_count(f"l_h[{i}]", d, 1)
        self.activations: list[Activation] = [get_activation(f) for f in l_a]
        self.F, self.C, self.sizes = F, C, [F, *l_h]

        factory = {"dtype": dtype, "device": device}
        self.Ws = nn.ParameterList(nn.Parameter(torch.empty(d_in, d_out, **factory)) for d_in, d_out in zip(self.sizes, l_h))
        self.bs = nn.ParameterList(nn.Parameter(torch.zeros(d, **factory)) for d in l_h)
        self.U = nn.Parameter(torch.empty(self.sizes[-1], C, **factory))
        self.c = nn.Parameter(torch.zeros(C, **factory))
        initial = {"beta": beta, "alpha": alpha}
        self.act_params = nn.ParameterDict() if learn_activation_params else None
        for k, act in enumerate(self.activations, start=1):
            if act.param is not None:
                value = initial[act.param]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (act.param == "alpha" and value <= 0):
                    raise ValueError(f"FFNN: {act.param} must be a finite number{' > 0' if act.param == 'alpha' else ''}, got {value!r}")
                t = torch.tensor(float(value), **factory)
                if learn_activation_params:
                    self.act_params[f"{act.param}{k}"] = nn.Parameter(t)
                else:
                    self.register_buffer(f"{act.param}{k}", t)
        self.reset_parameters(init, generator)
        self._saved: Optional[_Saved] = None

    def __getstate__(self):
        """Copies and pickles leave out what the last ``forward`` kept: it belongs to that call."""
        state = self.__dict__.copy()
        state["_saved"] = None
        return state

    # --- parameters --------------------------------------------------------------------------------

    @torch.no_grad()
    def reset_parameters(self, init: Union[str, float] = "xavier", generator: Optional[torch.Generator] = None) -> None:
        """Draw new weights (see ``init`` in the class docstring); biases to zero, β/α untouched."""
        for W in [*self.Ws, self.U]:
            fan_in, fan_out = W.shape
            if init == "xavier":
                a = math.sqrt(6.0 / (fan_in + fan_out))
                W.uniform_(-a, a, generator=generator)
            elif init == "kaiming":
                W.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
            elif isinstance(init, (int, float)) and not isinstance(init, bool) and 0 < init < math.inf:
                W.normal_(0.0, float(init), generator=generator)
            else:
                raise ValueError(f"FFNN: init must be 'xavier', 'kaiming' or a positive float σ, got {init!r}")
        for b in [*self.bs, self.c]:
            b.zero_()

    def activation_param(self, k: int) -> Optional[torch.Tensor]:
        """The β or α of hidden layer ``k`` (1-based, as in :math:`h^{(k)}`), or None if it has none."""
        act = self.activations[k - 1]
        if act.param is None:
            return None
        name = f"{act.param}{k}"
        return self.act_params[name] if self.act_params is not None else getattr(self, name)

    @torch.no_grad()
    def load_weights(self, Ws, U, bs, c) -> None:
        """Copy given values into the parameters: ``Ws`` and ``bs`` lists, one per hidden layer.

        Values may be tensors, arrays or nested lists; each is checked against the shape of the
        parameter it replaces, and converted to its dtype and device.
        """
        L = len(self.Ws)
        if len(Ws) != L or len(bs) != L:
            raise ValueError(f"load_weights: the network has {L} hidden layers, got {len(Ws)} matrices in Ws and {len(bs)} vectors in bs")
        targets = [(f"Ws[{i}] (W^({i + 1}))", p, v) for i, (p, v) in enumerate(zip(self.Ws, Ws))]
        targets += [(f"bs[{i}] (b^({i + 1}))", p, v) for i, (p, v) in enumerate(zip(self.bs, bs))]
        targets += [("U", self.U, U), ("c", self.c, c)]
        values = []
        for name, p, v in targets:
            v = torch.as_tensor(v).to(dtype=p.dtype, device=p.device)
            if v.shape != p.shape:
                raise ValueError(f"load_weights: {name} must have shape {tuple(p.shape)}, got {tuple(v.shape)}")
            values.append(v)
        for (_, p, _), v in zip(targets, values):  # only after every shape was checked
            p.copy_(v)

    def resumen(self) -> "Resumen":
        """Name, shape and size of every parameter, layer by layer, and the total (Tarea 1, part 2b)."""
        params = dict(self.named_parameters())
        order = [n for k, a in enumerate(self.activations) for n in (f"Ws.{k}", f"bs.{k}", f"act_params.{a.param}{k + 1}")]
        order += ["U", "c"]
        return Resumen([(n, tuple(params[n].shape), params[n].numel()) for n in order if n in params])

    # --- forward -----------------------------------------------------------------------------------

    def _flatten(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"forward: x must be a tensor, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"forward: x must have a batch dimension, shape (B, {self.F}), got {tuple(x.shape)}; for one example use x.unsqueeze(0)")
        h = x.reshape(x.shape[0], -1)
        if h.shape[1] != self.F:
            raise ValueError(f"forward: x must have {self.F} features per example (shape (B, {self.F}) or anything that flattens to it), got shape {tuple(x.shape)}")
        if h.dtype != self.U.dtype:
            h = h.to(self.U.dtype)
        return h

    def _key(self, x: torch.Tensor, y_pred: torch.Tensor) -> tuple:
        """A fingerprint of ``x``, ``y_pred`` and every parameter and buffer: it changes when any
        of them is replaced or modified in place. For each tensor, its address in memory and its
        version counter, which PyTorch increments on every in-place change (``add_``, ``copy_``,
        an optimizer's step; also through a view, such as the flattened ``x``)."""
        return tuple((t.data_ptr(), t._version) for t in (x, y_pred, *self.parameters(), *self.buffers()))

    def _forward(self, h: torch.Tensor):
        """The forward pass on a flattened input: (ŷ, [h^(0..L)], [u^(1..L)]).

        A relu layer applies relu in place, so what ``us`` keeps for it *is* h^(k). That is all
        backward needs: relu'(u) = 1[u > 0] = 1[relu(u) > 0] reads the same from h^(k), and no
        copy of u^(k) is kept."""
        hs, us = [h], []
        for k, (W, b, act) in enumerate(zip(self.Ws, self.bs, self.activations), start=1):
            u = torch.addmm(b, h, W)  # u^(k) = h^(k-1) W^(k) + b^(k)
            if act.fn is relu:
                h = u = torch.relu_(u)  # h^(k) = relu(u^(k)), written over u^(k)
            else:
                h = act(u, self.activation_param(k))  # h^(k) = f(u^(k))
            us.append(u)
            hs.append(h)
        y_pred = softmax(torch.addmm(self.c, h, self.U), dim=1)
        return y_pred, hs, us

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ŷ of shape (B, C): the class probabilities for x of shape (B, F) or (B, ...) flattening to F."""
        self._saved = None  # the previous record goes now, not after this pass built the next one
        y_pred, hs, us = self._forward(self._flatten(x))
        self._saved = _Saved(x, y_pred, hs, us, self._key(x, y_pred))
        return y_pred

    # --- backward ----------------------------------------------------------------------------------

    def _saved_for(self, x: torch.Tensor, y_pred: torch.Tensor) -> _Saved:
        """What the forward pass that produced ``y_pred`` from ``x`` computed: the record kept by
        ``forward`` if it belongs to these very tensors and no parameter changed since; otherwise
        the forward pass is run again on ``x`` (without autograd), ŷ included."""
        s = self._saved
        if s is not None and s.x is x and s.y_pred is y_pred and s.key == self._key(x, y_pred):
            return s
        y_pred, hs, us = self._forward(self._flatten(x))
        return _Saved(x, y_pred, hs, us, ())

    def _check_targets(self, y, y_pred) -> torch.Tensor:
        if not isinstance(y_pred, torch.Tensor) or y_pred.dim() != 2 or y_pred.shape[1] != self.C:
            shape = tuple(y_pred.shape) if isinstance(y_pred, torch.Tensor) else type(y_pred).__name__
            raise ValueError(f"backward: y_pred must have shape (B, {self.C}), got {shape}")
        B = y_pred.shape[0]
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"backward: y must be a tensor, got {type(y).__name__}")
        if y.dim() == 1:
            check_class_indices(y, B, self.C, "backward", "y")
            return y.to(device=y_pred.device, dtype=torch.long)
        if y.shape != y_pred.shape or not y.dtype.is_floating_point:
            raise ValueError(
                f"backward: y must hold class indices of shape ({B},) or float rows of shape ({B}, {self.C}) "
                f"like y_pred, got {tuple(y.shape)} of dtype {y.dtype}"
            )
        return y.to(device=y_pred.device, dtype=y_pred.dtype)

    @torch.no_grad()
    def backward(self, x: torch.Tensor, y: torch.Tensor, y_pred: torch.Tensor) -> None:
        r"""Store :math:`\partial\mathcal{L}/\partial\theta` in ``θ.grad`` for every parameter θ.

        :math:`\mathcal{L} = \mathit{CELoss}(\hat y, y)` with ``y_pred`` :math:`= \hat y =` ``forward(x)``;
        ``y`` holds one-hot or probability rows (B, C), or class indices (B,). Gradients overwrite
        ``.grad`` (no accumulation), and no autograd is involved. The activations come from the
        last ``forward`` when it produced this very ``y_pred`` from this very ``x`` and the
        parameters have not changed since; otherwise they are recomputed from ``x``.
        """
        y = self._check_targets(y, y_pred)
        saved = self._saved_for(x, y_pred)
        hs, us = saved.hs, saved.us

        g = softmax_cross_entropy_grad(saved.y_pred, y)  # ∂L/∂u^(L+1) = (ŷ − y)/B
        _set_grad(self.U, torch.mm, hs[-1].t(), g)  # ∂L/∂U = h^(L)ᵀ ∂L/∂u^(L+1)
        _set_grad(self.c, torch.sum, g, 0)  # ∂L/∂c = Σ_i ∂L/∂u^(L+1)_i
        W_next = self.U
        for k in range(len(self.Ws), 0, -1):
            g_h = torch.mm(g, W_next.t())  # ∂L/∂h^(k) = ∂L/∂u^(k+1) W^(k+1)ᵀ
            act, p, u = self.activations[k - 1], self.activation_param(k), us[k - 1]
            if act.param is not None and p.requires_grad:
                _set_grad(p, torch.sum, g_h * act.dparam(u, p), (0, 1))  # ∂L/∂β = Σ ∂L/∂h ⊙ ∂h/∂β
            g = g_h.mul_(act.derivative(u, p))  # ∂L/∂u^(k) = ∂L/∂h^(k) ⊙ f'(u^(k))
            _set_grad(self.Ws[k - 1], torch.mm, hs[k - 1].t(), g)  # ∂L/∂W^(k) = h^(k-1)ᵀ ∂L/∂u^(k)
            _set_grad(self.bs[k - 1], torch.sum, g, 0)  # ∂L/∂b^(k) = Σ_i ∂L/∂u^(k)_i
            W_next = self.Ws[k - 1]
        # ∂L/∂h^(0) = ∂L/∂x is never needed: the input is not a parameter.


def _set_grad(p: torch.Tensor, op, *args) -> None:
    """``p.grad = op(*args)``, written into the existing ``.grad`` when it fits, so that training
    does not allocate a new gradient tensor every step."""
    g = p.grad
    if g is not None and g.shape == p.shape and g.dtype == p.dtype and g.device == p.device and g.is_contiguous():
        op(*args, out=g)
    else:
        p.grad = op(*args).reshape(p.shape)


class Resumen:
    """The table printed by :meth:`FFNN.resumen`; ``rows`` holds (name, shape, size) and ``total`` the sum."""

    def __init__(self, rows: list[tuple[str, tuple, int]]):
        self.rows = rows
        self.total = sum(n for _, _, n in rows)

    def __repr__(self) -> str:
        width = max([len(name) for name, _, _ in self.rows] + [9])
        lines = [f"{'parámetro':<{width}}  {'forma':<12} {'tamaño':>9}"]
        lines += [f"{name:<{width}}  {str(shape):<12} {n:>9,}" for name, shape, n in self.rows]
        lines.append(f"{'total':<{width}}  {'':<12} {self.total:>9,}")
        return "\n".join(lines)

    __str__ = __repr__
