"""Tests of the flip-flop task and of the numpy BPTT trainer (tasks/)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys.tasks import flipflop
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
