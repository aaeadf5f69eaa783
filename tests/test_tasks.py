"""Tests of the flip-flop task and of the numpy BPTT trainer (tasks/)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys.tasks import flipflop, sinewave
from dynsys.tasks import train as tr

BUNDLED = Path(__file__).resolve().parents[1] / "dynsys" / "data" / "flipflop_3bit_64.npz"
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- flip-flop


def _targets_by_loop(inputs):
    """Targets and mask by walking each trial and channel in plain Python."""
    B, T, C = inputs.shape
    targets, mask = np.zeros((B, T, C)), np.zeros((B, T, C), dtype=bool)
    for b in range(B):
        for c in range(C):
            held = 0.0
            for t in range(T):
                if inputs[b, t, c] != 0:
                    held = inputs[b, t, c]
                targets[b, t, c] = held
                mask[b, t, c] = held != 0
    return targets, mask


@given(
    n_trials=st.integers(1, 4),
    n_steps=st.integers(1, 40),
    bits=st.integers(1, 4),
    p=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
    seed=seeds,
)
def test_flipflop_targets_and_mask_match_a_plain_loop(n_trials, n_steps, bits, p, seed):
    batch = flipflop.generate(n_trials, n_steps, bits, p, seed=seed)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (n_trials, n_steps, bits)
    assert batch.mask.dtype == bool
    assert set(np.unique(batch.inputs)) <= {-1.0, 0.0, 1.0}
    targets, mask = _targets_by_loop(batch.inputs)
    np.testing.assert_array_equal(batch.targets, targets)
    np.testing.assert_array_equal(batch.mask, mask)


def test_flipflop_mask_starts_at_the_first_pulse_and_never_ends():
    batch = flipflop.generate(50, 60, 3, 0.05, seed=1)
    pulse = batch.inputs != 0
    first = np.where(pulse.any(axis=1), pulse.argmax(axis=1), 60)  # (B, bits)
    t = np.arange(60).reshape(1, 60, 1)
    np.testing.assert_array_equal(batch.mask, t >= first[:, None, :])
    assert np.all(batch.targets[~batch.mask] == 0)
    assert np.all(np.abs(batch.targets[batch.mask]) == 1)
    # at a pulse the target is that pulse
    np.testing.assert_array_equal(batch.targets[pulse], batch.inputs[pulse])


def test_flipflop_seeding():
    a = flipflop.generate(8, 30, 2, seed=7)
    b = flipflop.generate(8, 30, 2, seed=7)
    c = flipflop.generate(8, 30, 2, seed=8)
    d = flipflop.generate(8, 30, 2, seed=np.random.default_rng(7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a, d):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.inputs, c.inputs)


@pytest.mark.parametrize("p", [0.02, 0.05, 0.2])
def test_flipflop_pulse_rate_and_sign_balance(p):
    batch = flipflop.generate(200, 100, 3, p, seed=3)
    n = batch.inputs.size
    pulses = np.count_nonzero(batch.inputs)
    # binomial(n, p): within 5 standard deviations
    assert abs(pulses - n * p) < 5 * np.sqrt(n * p * (1 - p))
    positive = np.count_nonzero(batch.inputs > 0)
    assert abs(positive - pulses / 2) < 5 * np.sqrt(pulses / 4)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_trials": 0}, "n_trials"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"bits": 0}, "bits"),
        ({"p": 1.5}, "p"),
        ({"p": -0.1}, "p"),
    ],
)
def test_flipflop_rejects_bad_arguments(kwargs, name):
    args = {"n_trials": 2, "n_steps": 5, "bits": 3, "p": 0.1, **kwargs}
    with pytest.raises(ValueError, match=name):
        flipflop.generate(**args)


# ---------------------------------------------------------------- cells


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _outputs_by_loop(params, inputs, cell):
    """The contract's equations, one trial and one step at a time."""
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    b_ih, b_hh = params["bias_ih_l0"], params["bias_hh_l0"]
    W_out, b_out = params["readout.weight"], params["readout.bias"]
    H = W_hh.shape[1]
    B, T, _ = inputs.shape
    Y = np.zeros((B, T, W_out.shape[0]))
    for b in range(B):
        h = np.zeros(H)
        for t in range(T):
            u = inputs[b, t]
            if cell.name == "rnn_tanh":
                h = np.tanh(W_ih @ u + b_ih + W_hh @ h + b_hh)
                r = h
            elif cell.name == "gru":
                gi, gh = W_ih @ u + b_ih, W_hh @ h + b_hh
                rg = _sigmoid(gi[:H] + gh[:H])
                z = _sigmoid(gi[H : 2 * H] + gh[H : 2 * H])
                n = np.tanh(gi[2 * H :] + rg * gh[2 * H :])
                h = (1 - z) * n + z * h
                r = h
            else:  # continuous, Euler: x <- x + dt/tau (-x + W_hh tanh x + W_ih u + b)
                h = h + cell.dt / cell.tau * (-h + W_hh @ np.tanh(h) + W_ih @ u + b_ih + b_hh)
                r = np.tanh(h)
            Y[b, t] = W_out @ r + b_out
    return Y


def _random_problem(cell, seed, B=2, T=5, I=2, H=3, O=2, scale=0.8):
    rng = np.random.default_rng(seed)
    params = tr.init_params(cell, I, H, O, rng)
    params = {k: scale * rng.standard_normal(v.shape) for k, v in params.items()}
    batch = flipflop.FlipFlopBatch(
        inputs=rng.standard_normal((B, T, I)),
        targets=rng.standard_normal((B, T, O)),
        mask=rng.random((B, T, O)) < 0.7,
    )
    return params, batch


CELLS = [tr.make_cell("rnn_tanh"), tr.make_cell("gru"), tr.make_cell("continuous", tau=1.0, dt=0.3)]


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.name)
@given(seed=seeds)
def test_forward_follows_the_cell_equations(cell, seed):
    params, batch = _random_problem(cell, seed)
    np.testing.assert_allclose(
        tr.outputs(params, batch.inputs, cell), _outputs_by_loop(params, batch.inputs, cell), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.name)
@settings(max_examples=10)
@given(seed=seeds)
def test_gradients_equal_central_finite_differences(cell, seed):
    params, batch = _random_problem(cell, seed)
    loss, grads, Y = tr.loss_and_gradients(params, batch, cell)
    # the loss itself, from the definition
    err = (_outputs_by_loop(params, batch.inputs, cell) - batch.targets)[batch.mask]
    assert loss == pytest.approx(np.mean(err**2), rel=1e-12)
    eps = 1e-6
    for key, p in params.items():
        fd = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            saved = p[idx]
            p[idx] = saved + eps
            up = tr.loss_and_gradients(params, batch, cell)[0]
            p[idx] = saved - eps
            down = tr.loss_and_gradients(params, batch, cell)[0]
            p[idx] = saved
            fd[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[key], fd, rtol=1e-5, atol=1e-9, err_msg=key)


def test_bad_cell_and_shapes_are_named():
    with pytest.raises(ValueError, match="cell"):
        tr.make_cell("lstm")
    with pytest.raises(ValueError, match="dt"):
        tr.make_cell("continuous", tau=1.0, dt=2.0)
    params, _ = _random_problem(CELLS[0], 0)
    with pytest.raises(ValueError, match=r"inputs.*\(2, 5, 3\)"):
        tr.outputs(params, np.zeros((2, 5, 3)), CELLS[0])


# ---------------------------------------------------------------- optimiser


def test_first_adam_step_moves_each_entry_by_lr_times_the_sign():
    # after one step m/(1-b1) = g and v/(1-b2) = g^2: the step is lr g / (|g| + eps)
    params = {"w": np.array([1.0, -2.0, 3.0])}
    grads = {"w": np.array([0.5, -4.0, 1e-3])}
    adam = tr.Adam(params, lr=0.1)
    adam.step(params, grads)
    np.testing.assert_allclose(params["w"], [1.0 - 0.1, -2.0 + 0.1, 3.0 - 0.1], rtol=1e-4)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert tr.clip_by_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.8]])
    assert tr.clip_by_global_norm(grads, 10.0) == pytest.approx(1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])


# ---------------------------------------------------------------- training


def test_tiny_training_run_learns_and_is_deterministic():
    batches = tr.flipflop_batches(bits=1, n_trials=16, n_steps=30, p=0.1)
    run = lambda: tr.train(batches, hidden=8, seed=0, iters=150, lr=1e-2, check_every=50, log=None)
    params, info = run()
    params2, _ = run()
    for key in params:
        np.testing.assert_array_equal(params[key], params2[key])
    # predicting 0 everywhere scores an MSE of exactly 1 on targets of +-1
    assert info["final_loss"] < 0.5
    assert info["accuracy"] > 0.8
    assert info["iterations"] <= 150


def test_cli_writes_a_loadable_model(tmp_path):
    out = tmp_path / "m.npz"
    argv = ["flipflop", "--bits", "2", "--hidden", "4", "--cell", "gru", "--iters", "3",
            "--batch", "4", "--steps", "10", "--seed", "5", "--out", str(out)]
    assert tr.main(argv) == 0
    with np.load(out, allow_pickle=False) as f:
        assert set(f.files) == {*tr.RECURRENT_KEYS, *tr.READOUT_KEYS, "meta"}
        assert f["weight_ih_l0"].shape == (12, 2)
        assert f["weight_hh_l0"].shape == (12, 4)
        assert f["bias_ih_l0"].shape == f["bias_hh_l0"].shape == (12,)
        assert f["readout.weight"].shape == (2, 4)
        assert f["readout.bias"].shape == (2,)
        meta = json.loads(str(f["meta"]))
    assert meta["cell"] == "gru" and meta["task"] == "flipflop" and meta["bits"] == 2
    assert meta["seed"] == 5 and meta["iterations"] == 3 and meta["torch_free"] is True
    assert meta["command"].endswith(" ".join(argv[:-1]) + " " + str(out))
    assert 0.0 <= meta["accuracy"] <= 1.0 and np.isfinite(meta["final_loss"])


def test_cli_reports_bad_arguments(capsys):
    assert tr.main(["flipflop", "--bits", "0", "--out", "x.npz"]) == 2
    assert "bits" in capsys.readouterr().err


# ---------------------------------------------------------------- bundled model


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files if k != "meta"}, json.loads(str(f["meta"]))


def test_bundled_model_solves_the_flipflop_and_records_its_training():
    params, meta = _load(BUNDLED)
    assert meta["cell"] == "rnn_tanh" and meta["bits"] == 3 and meta["hidden"] == 64 and meta["seed"] == 0
    assert meta["command"] == (  # as it was run, before tasks/ moved into dynsys/tasks/
        "python -m tasks.train flipflop --bits 3 --hidden 64 --seed 0 --out dynsys/data/flipflop_3bit_64.npz"
    )
    assert params["weight_hh_l0"].shape == (64, 64) and params["readout.weight"].shape == (3, 64)
    batch = flipflop.generate(64, 100, 3, seed=2024)  # trials the training never saw
    y = _outputs_by_loop(params, batch.inputs, tr.make_cell("rnn_tanh"))
    correct = (np.sign(y) == batch.targets) & batch.mask
    assert correct.sum() / batch.mask.sum() >= 0.99


def test_bundled_model_stores_the_bits_as_eight_stable_fixed_points():
    params, _ = _load(BUNDLED)
    W, b = params["weight_hh_l0"], params["bias_ih_l0"] + params["bias_hh_l0"]
    batch = flipflop.generate(256, 100, 3, seed=99)
    keep = batch.mask[:, -1].all(axis=1)
    U = batch.inputs[keep].transpose(1, 0, 2)
    _, cache = tr.make_cell("rnn_tanh").forward(params, U)
    h = cache["H"][-1]
    for _ in range(500):  # zero input: h <- tanh(W h + b)
        h = np.tanh(h @ W.T + b)
    assert np.abs(np.tanh(h @ W.T + b) - h).max() < 1e-8  # settled on fixed points, not cycles
    y = h @ params["readout.weight"].T + params["readout.bias"]
    np.testing.assert_array_equal(np.sign(y), batch.targets[keep][:, -1])  # each trial keeps its bits
    assert len(np.unique(np.round(h, 6), axis=0)) == 8
    assert len({tuple(s) for s in np.sign(y)}) == 8


def test_dynsys_rnn_load_reproduces_the_trainer_outputs_on_the_bundled_model():
    from dynsys import rnn

    params, _ = _load(BUNDLED)
    inputs = flipflop.generate(4, 50, 3, seed=11).inputs
    model = rnn.load(BUNDLED)
    expected = tr.outputs(params, inputs, tr.make_cell("rnn_tanh"))
    np.testing.assert_allclose(model.readout(model.run(inputs)), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.name)
def test_saved_models_load_into_dynsys_rnn_with_the_same_outputs(cell, tmp_path):
    from dynsys import rnn

    params, batch = _random_problem(cell, 4, B=3, T=8, I=2, H=5, O=2)
    path = tmp_path / "model.npz"
    tr.save_model(path, params, cell.meta())
    model = rnn.load(path)
    np.testing.assert_allclose(
        model.readout(model.run(batch.inputs)), tr.outputs(params, batch.inputs, cell), rtol=1e-10, atol=1e-12
    )


# ---------------------------------------------------------------- sine waves

SINEWAVE = Path(__file__).resolve().parents[1] / "dynsys" / "data" / "sinewave_64.npz"


@given(n_trials=st.integers(1, 6), n_steps=st.integers(1, 30), n_levels=st.integers(1, 51), seed=seeds)
def test_sinewave_trials_hold_a_level_of_the_grid_and_its_sine(n_trials, n_steps, n_levels, seed):
    batch = sinewave.generate(n_trials, n_steps, n_levels, seed=seed)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (n_trials, n_steps, 1)
    assert batch.mask.all() and batch.omega.shape == (n_trials,)
    u = batch.inputs[:, 0, 0]
    np.testing.assert_array_equal(batch.inputs, np.repeat(u[:, None, None], n_steps, axis=1))  # static
    (u_min, u_max), (w_min, w_max) = sinewave.U_RANGE, sinewave.OMEGA_RANGE
    if n_levels == 1:
        np.testing.assert_allclose(u, (u_min + u_max) / 2)
    else:  # u = u_min + j (u_max - u_min) / (n_levels - 1) for an integer j
        j = (u - u_min) * (n_levels - 1) / (u_max - u_min)
        np.testing.assert_allclose(j, np.round(j), atol=1e-9)
        assert np.all((np.round(j) >= 0) & (np.round(j) <= n_levels - 1))
    np.testing.assert_allclose(batch.omega, w_min + (w_max - w_min) * (u - u_min) / (u_max - u_min), rtol=1e-12)
    for b in range(n_trials):
        np.testing.assert_allclose(batch.targets[b, :, 0], [np.sin(batch.omega[b] * t) for t in range(n_steps)],
                                   atol=1e-12)


@pytest.mark.parametrize("level", [0, 7, 20])
def test_sinewave_targets_cross_zero_at_the_rate_of_their_frequency(level):
    # sin(w t) changes sign every pi / w steps: over T steps about w T / pi times
    u = sinewave.levels()[level]
    w = 0.2 + 0.4 * (u - 0.25) / 1.0
    batch = sinewave.generate(200, 1000, seed=level)
    trial = np.flatnonzero(batch.inputs[:, 0, 0] == u)[0]
    y = batch.targets[trial, 1:, 0]  # t = 0 is a zero itself
    crossings = np.count_nonzero(np.signbit(y[1:]) != np.signbit(y[:-1]))
    assert abs(crossings - w * 999 / np.pi) <= 1


def test_sinewave_levels_are_all_drawn_evenly():
    batch = sinewave.generate(21 * 400, 1, 21, seed=0)
    counts = np.unique(batch.inputs[:, 0, 0], return_counts=True)[1]
    assert len(counts) == 21
    assert np.all(np.abs(counts - 400) < 5 * np.sqrt(400))


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_trials": 0}, "n_trials"), ({"n_steps": 0}, "n_steps"), ({"n_levels": 0}, "n_levels"),
     ({"u_range": (1.0, 1.0)}, "u_range"), ({"omega_range": (0.1, np.nan)}, "omega_range"),
     ({"u_range": "ab"}, "u_range")],
)
def test_sinewave_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sinewave.generate(**{"n_trials": 2, "n_steps": 5, **kwargs})


def test_variance_explained_closed_forms():
    t = np.arange(200)
    target = np.sin(0.3 * t)
    mask = np.ones(200, bool)
    assert tr.variance_explained(target, target, mask) == 1.0
    assert tr.variance_explained(np.full(200, target.mean()), target, mask) == pytest.approx(0.0, abs=1e-15)
    # y = c * target: R^2 = 1 - (1 - c)^2 sum(target^2) / sum((target - mean)^2)
    c = 0.8
    expected = 1 - (1 - c) ** 2 * np.sum(target**2) / np.sum((target - target.mean()) ** 2)
    assert tr.variance_explained(c * target, target, mask) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="constant"):
        tr.variance_explained(target, np.ones(200), mask)


def test_a_curriculum_trains_through_its_sources_in_turn():
    seen = []

    def source(T):
        def batches(rng):
            seen.append(T)
            return sinewave.generate(4, T, 3, seed=rng)
        return batches

    _, info = tr.train([source(5), source(9)], hidden=3, iters=4, check_every=2, log=None,
                       score=tr.VARIANCE_EXPLAINED, n_test_batches=2)
    assert info["iterations"] == 8 and [k for k, _, _ in info["history"]] == [2, 4, 6, 8]
    assert seen == [5] * 6 + [9] * 6 + [9] * 2  # 4 steps + 2 checks per stage, then the tests from the last
    assert "variance_explained" in info and "accuracy" not in info


def test_cli_trains_the_sinewave_task(tmp_path):
    out = tmp_path / "s.npz"
    argv = ["sinewave", "--levels", "5", "--hidden", "4", "--iters", "3", "--batch", "4", "--steps", "6,8",
            "--seed", "2", "--out", str(out)]
    assert tr.main(argv) == 0
    with np.load(out, allow_pickle=False) as f:
        assert f["weight_ih_l0"].shape == (4, 1) and f["readout.weight"].shape == (1, 4)
        meta = json.loads(str(f["meta"]))
    assert meta["task"] == "sinewave" and meta["levels"] == 5 and meta["steps"] == [6, 8]
    assert meta["iterations"] == 6 and "bits" not in meta and np.isfinite(meta["variance_explained"])


@pytest.mark.parametrize("argv, name", [(["sinewave", "--bits", "2"], "--bits"),
                                        (["flipflop", "--levels", "3"], "--levels"),
                                        (["sinewave", "--steps", "10,0"], "steps")])
def test_cli_names_options_of_the_wrong_task(argv, name, capsys):
    assert tr.main([*argv, "--out", "x.npz"]) == 2
    assert name in capsys.readouterr().err


def _fft_frequency(y):
    """The angular frequency (rad per step) of the largest peak of |FFT(y - mean)|, refined by a parabola."""
    spectrum = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(len(y))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return 2 * np.pi * (k + 0.5 * (a - c) / (a - 2 * b + c)) / len(y)


def test_bundled_sinewave_network_produces_the_frequency_its_input_selects():
    params, meta = _load(SINEWAVE)
    assert meta["cell"] == "rnn_tanh" and meta["task"] == "sinewave" and meta["hidden"] == 64
    assert meta["command"] == (
        "python -m dynsys.tasks.train sinewave --hidden 64 --seed 0 --steps 20,40,70,100 --iters 600 --lr 3e-3 "
        "--out dynsys/data/sinewave_64.npz"
    )
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    b = params["bias_ih_l0"] + params["bias_hh_l0"]
    u = np.array([0.25, 0.5, 0.75, 1.0, 1.25])
    target = 0.2 + 0.4 * (u - 0.25)
    h, y = np.zeros((5, 64)), []
    for _ in range(4096):  # h <- tanh(W_ih u + b + W_hh h), the five levels at once
        h = np.tanh(u[:, None] * W_ih[:, 0] + b + h @ W_hh.T)
        y.append(h @ params["readout.weight"][0] + params["readout.bias"][0])
    y = np.array(y).T
    measured = np.array([_fft_frequency(row[1024:]) for row in y])  # after the first 1024 steps
    np.testing.assert_allclose(measured, target, rtol=0.1)
    # and over the trained horizon it draws the sine: the normalised MSE of the first 100 steps
    nmse = np.mean((y[:, :100] - np.sin(np.outer(target, np.arange(100)))) ** 2) / 0.5
    assert nmse < 0.2
