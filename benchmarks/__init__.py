"""Benchmarks of the package ``backprop`` against plain PyTorch.

Run them from the repository root with ``python -m benchmarks`` (see ``python -m benchmarks -h``).
The engine, ``backprop.benchmark``, times one training step of ``backprop.FFNN`` (forward,
hand-written ``backward``, ``backprop.SGD``) against the same network written with ``torch.nn``
and trained with ``loss.backward()`` and ``torch.optim.SGD``; ``backprop.plotting.plot_throughput``
draws the book's figure. It lives in the package so that the book's appendix also runs in Colab.
"""
