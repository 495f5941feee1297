"""The training loop (part 4c), the accuracy (Tarea 1) and the plots (part 4d)."""

import pytest
import torch
from matplotlib.figure import Figure

import backprop as bp


def setup(seed=0, lr=0.5, acts=("relu", "relu")):
    torch.manual_seed(seed)
    data = bp.RandomDataset(256, 20, 4, seed=seed)
    red = bp.FFNN(20, [64, 32][: len(acts)], list(acts), 4)
    return data, red, bp.SGD(red.parameters(), lr)


def test_loss_goes_down_on_random_data():
    data, red, opt = setup()
    loss, acc = bp.entrenar_FFNN(red, data, opt, epochs=30, batch_size=32, device="cpu", verbose=False)
    assert len(loss) == len(acc) == 30 * 8
    assert all(isinstance(v, float) for v in loss + acc) and all(0 <= a <= 1 for a in acc)
    first, last = sum(loss[:8]) / 8, sum(loss[-8:]) / 8
    assert last < 0.5 * first
    assert sum(acc[-8:]) / 8 > 0.8  # random labels: memorized
    assert bp.calcula_acierto(red, data, device="cpu") > 0.8


def test_the_loss_history_is_the_loss_of_each_batch():
    data, red, opt = setup()
    loss, acc = bp.entrenar_FFNN(red, data, opt, epochs=1, batch_size=256, device="cpu", verbose=False, shuffle=False)
    # one batch: the recorded loss is that of the weights before the step
    assert len(loss) == 1
    torch.manual_seed(0)
    fresh = bp.FFNN(20, [64, 32], ["relu", "relu"], 4)
    X, Y = data.tensors
    with torch.no_grad():
        pred = fresh(X)
    assert loss[0] == pytest.approx(bp.CELoss(pred, Y).item(), rel=1e-6)
    assert acc[0] == pytest.approx((pred.argmax(1) == Y.argmax(1)).float().mean().item())


def test_same_seed_same_history():
    runs = []
    for _ in range(2):
        data, red, opt = setup(seed=3)
        runs.append(bp.entrenar_FFNN(red, data, opt, epochs=2, batch_size=16, device="cpu", verbose=False,
                                     generator=torch.Generator().manual_seed(1)))
    assert runs[0] == runs[1]


def test_class_index_datasets_and_a_generic_dataset():
    class Pairs(torch.utils.data.Dataset):  # not a TensorDataset: goes through a DataLoader
        def __init__(self):
            g = torch.Generator().manual_seed(0)
            self.x, self.y = torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g)

        def __len__(self):
            return 64

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    torch.manual_seed(0)
    red = bp.FFNN(5, [16], ["tanh"], 3)
    loss, acc = bp.entrenar_FFNN(red, Pairs(), bp.SGD(red.parameters(), 0.5), epochs=20, batch_size=8, device="cpu", verbose=False)
    assert len(loss) == 20 * 8 and sum(loss[-8:]) < sum(loss[:8])


def test_works_inside_no_grad_and_with_swish_celu():
    data, red, opt = setup(acts=("swish", "celu"))
    with torch.no_grad():
        loss, _ = bp.entrenar_FFNN(red, data, opt, epochs=10, batch_size=32, device="cpu", verbose=False)
    assert sum(loss[-8:]) < sum(loss[:8])
    assert red.act_params["beta1"].item() != 1.0  # β was learned


def test_lr_schedule_sets_the_lr_every_epoch():
    data, red, opt = setup()
    seen = []
    bp.entrenar_FFNN(red, data, opt, epochs=3, batch_size=128, device="cpu", verbose=False,
                     lr_schedule=lambda e: seen.append(e) or 0.1 / (e + 1))
    assert seen == [0, 1, 2] and opt.lr == pytest.approx(0.1 / 3)


def test_divergence_stops_with_a_clear_error():
    data, red, opt = setup(lr=1e4)  # relu layers: the activations blow up to inf, then NaN
    with pytest.raises(bp.TrainingDivergedError, match=r"loss became (nan|inf) at epoch \d+, iteration \d+.*try a smaller lr \(it was 10000.0\)") as e:
        bp.entrenar_FFNN(red, data, opt, epochs=50, batch_size=32, device="cpu", verbose=False)
    assert isinstance(e.value, ValueError)


def test_a_celu_alpha_driven_below_zero_stops_training_with_a_clear_error():
    data, red, opt = setup(acts=("celu",), lr=0.1)
    with torch.no_grad():
        red.act_params["alpha1"].fill_(-0.01)  # as a too-large step can leave it
    with pytest.raises(ValueError, match=r"celu: alpha must be a positive finite number, got -0.01 .*try a smaller lr"):
        bp.entrenar_FFNN(red, data, opt, epochs=3, batch_size=32, device="cpu", verbose=False)


def test_progress_bar_shows_epoch_loss_and_accuracy(capsys):
    data, red, opt = setup()
    bp.entrenar_FFNN(red, data, opt, epochs=2, batch_size=64, device="cpu")
    err = capsys.readouterr().err
    assert "época 2/2" in err and "loss=" in err and "acc=" in err and "8/8" in err
    bp.entrenar_FFNN(red, data, opt, epochs=1, batch_size=64, device="cpu", verbose=False)
    assert capsys.readouterr().err == ""


def test_text_progress_for_static_pages_is_one_line_without_timings(capsys, monkeypatch):
    monkeypatch.setenv("BACKPROP_PROGRESS", "text")
    data, red, opt = setup()
    bp.entrenar_FFNN(red, data, opt, epochs=3, batch_size=64, device="cpu")
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 1 and "\r" not in out
    assert lines[0].startswith("época 3/3: 100%|") and "12/12, acc=" in lines[0] and "loss=" in lines[0]
    assert "it/s" not in lines[0] and "<" not in lines[0]  # no speed, no elapsed time


def test_bad_arguments():
    data, red, opt = setup()
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        bp.entrenar_FFNN(red, data, opt, epochs=0, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 2.5"):
        bp.entrenar_FFNN(red, data, opt, batch_size=2.5, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        bp.calcula_acierto(red, data, batch_size=0, device="cpu")


def test_calcula_acierto_counts_correct_predictions():
    data, red, _ = setup()
    X, Y = data.tensors
    with torch.no_grad():
        expected = (red(X).argmax(1) == Y.argmax(1)).float().mean().item()
    assert bp.calcula_acierto(red, data, batch_size=7, device="cpu") == pytest.approx(expected)


def test_default_device_is_cpu_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here: the default device is CUDA, tested below")
    data, red, opt = setup()
    bp.entrenar_FFNN(red, data, opt, epochs=1, batch_size=64, verbose=False)
    assert red.U.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_training_on_cuda():
    data, red, opt = setup()
    loss, _ = bp.entrenar_FFNN(red, data, opt, epochs=5, batch_size=32, device="cuda", verbose=False)
    assert red.U.device.type == "cuda" and red.U.grad.device.type == "cuda"
    assert sum(loss[-8:]) < sum(loss[:8])
    assert bp.calcula_acierto(red, data, device="cuda") > 0


def test_plot_results_draws_loss_and_accuracy():
    loss = [1.0 / (i + 1) for i in range(100)]
    acc = [i / 100 for i in range(100)]
    fig = bp.plot_results(loss, acc)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_ylabel() == "pérdida" and ax_acc.get_ylabel() == "acierto"
    assert ax_loss.get_xlabel() == ax_acc.get_xlabel() == "iteración"
    assert list(ax_loss.lines[0].get_ydata()) == loss
    smooth = ax_acc.lines[1].get_ydata()
    assert smooth[-1] == pytest.approx(sum(acc[-2:]) / 2)  # window 100 // 50 = 2
    with pytest.raises(ValueError, match="loss and acc must be non-empty and of the same length, got 3 and 2"):
        bp.plot_results([1, 2, 3], [1, 2])


def test_plot_curves_shares_axes_across_runs():
    runs = {"a": ([1.0, 0.5, 0.25, 0.2], [0.1, 0.5, 0.7, 0.8]), "b": ([2.0, 1.0, 0.5, 0.4], [0.0, 0.2, 0.4, 0.5])}
    fig = bp.plotting.plot_curves(runs, window=1, per_epoch=2)
    ax_loss, ax_acc = fig.axes
    assert [l.get_label() for l in ax_acc.lines] == ["a", "b"]
    assert list(ax_loss.lines[1].get_ydata()) == pytest.approx([2.0, 1.0, 0.5, 0.4])
    assert list(ax_loss.lines[0].get_xdata()) == [0.5, 1.0, 1.5, 2.0] and ax_loss.get_xlabel() == "época"
    with pytest.raises(ValueError, match=r"plot_curves \(b\): loss and acc must be non-empty"):
        bp.plotting.plot_curves({"b": ([1.0], [])})


def test_plot_activations_draws_every_registered_function():
    fig = bp.plotting.plot_activations()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(bp.ACTIVATIONS)
    # relu: function and derivative; swish: function, ∂x and ∂β for each of three β
    assert len(visible[2].lines) == 2 + 2 and len(visible[3].lines) == 3 * 3 + 2


def test_confusion_matrix_counts_and_plot():
    M = bp.plotting.confusion_matrix(torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 0]), 3)
    assert M.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert M.sum() == 6
    fig = bp.plotting.plot_confusion(M, ["a", "b", "c"])
    assert fig.axes[0].get_xlabel() == "clase predicha"
    with pytest.raises(ValueError, match="predicted and target must have the same shape"):
        bp.plotting.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2)


def test_show_images_labels_each_image():
    fig = bp.plotting.show_images(torch.rand(5, 784), ["a", "b", "c", "d", "e"], ncols=3)
    titled = [ax.get_title() for ax in fig.axes if ax.images]
    assert titled == ["a", "b", "c", "d", "e"]
    with pytest.raises(ValueError, match="got 2 images and 1 labels"):
        bp.plotting.show_images(torch.rand(2, 28, 28), ["a"])
