"""Loading the networks people have: torch-style state_dicts under any module
names, checkpoints, ambiguous cells, networks without a readout, and the
input held at a value (``rnn.load_network``, ``dynsys flipflop --model``,
``dynsys analyze NETWORK``).

State_dicts are numpy arrays under PyTorch's keys, built here from the
bundled flip-flop network's weights; torch is only needed by the tests that
say so (skipped without it).  Expected answers come from the task (2^3
memories at the corners of {-1, 1}^3) and from numpy written here from the
weights: h = tanh(W_hh h + W_ih u + b_ih + b_hh) at a fixed point, and the
readout fc.weight h + fc.bias.
"""
import itertools
import json
import pickle
import sys
import types
import warnings

import numpy as np
import pytest

from dynsys import rnn
from dynsys.cli import main
from dynsys.fixed_points import FixedPointSet
from dynsys.cli.flipflop import analyze_flipflop

CORNERS = {tuple(c) for c in itertools.product([-1, 1], repeat=3)}


@pytest.fixture(scope="module")
def net():
    return rnn.load_flipflop()


def torch_style(net, prefix="rnn.", readout="fc"):
    """The network's weights under the keys of a PyTorch model with ``self.rnn`` and ``self.<readout>``."""
    sd = {f"{prefix}weight_ih_l0": net.weight_ih, f"{prefix}weight_hh_l0": net.weight_hh,
          f"{prefix}bias_ih_l0": net.bias_ih, f"{prefix}bias_hh_l0": net.bias_hh}
    if readout:
        sd.update({f"{readout}.weight": net.W_out, f"{readout}.bias": net.b_out})
    return sd


def tanh_residual(net, X, u):
    """|tanh(W_hh x + W_ih u + b_ih + b_hh) - x| per row, in numpy from the weights."""
    drive = net.weight_ih @ u + net.bias_ih + net.bias_hh
    return np.abs(np.tanh(X @ net.weight_hh.T + drive) - X).max(axis=1)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynsys: error: "), err
    return lines[0]


# ------------------------------------------------------------------ readouts
@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_flipflop_on_a_torch_state_dict_with_readout_fc(tmp_path, capsys, net, suffix):
    sd = torch_style(net, prefix="model.rnn.")
    path = tmp_path / f"model{suffix}"
    if suffix == ".pt":
        torch = pytest.importorskip("torch")
        torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, path)
    else:
        np.savez(path, **sd)
    code, out, err = run(capsys, "flipflop", "--model", path, "--cell", "rnn_tanh", "--out", tmp_path / "o",
                         "--n-starts", "256")
    assert code == 0, err
    assert "fc.weight" in err  # the readout it found, said to the user
    report = json.loads((tmp_path / "o" / "fixed_points.json").read_text())
    attractors = np.array([a["x"] for a in report["attractors"]])
    assert len(attractors) == 8
    assert tanh_residual(net, attractors, np.zeros(3)).max() < 1e-10
    assert {tuple(c) for c in np.sign(attractors @ sd["fc.weight"].T + sd["fc.bias"]).astype(int)} == CORNERS


def test_two_readout_candidates_need_a_name(tmp_path, capsys, net):
    sd = {**torch_style(net), "head.weight": net.W_out[:2], "head.bias": net.b_out[:2]}
    with pytest.raises(ValueError, match=r"fc\.weight, head\.weight"):
        rnn.from_state_dict(sd, "rnn_tanh")
    np.savez(tmp_path / "two.npz", **sd)
    code, _, err = run(capsys, "flipflop", "--model", tmp_path / "two.npz", "--cell", "rnn_tanh", "--out", tmp_path)
    assert code == 2 and "fc.weight" in one_line(err) and "head.weight" in err


def test_readout_fc_is_used_and_the_other_candidate_is_named(net):
    sd = {**torch_style(net), "head.weight": net.W_out[:2], "head.bias": net.b_out[:2]}
    with pytest.warns(UserWarning, match=r"not used.*head\.bias, head\.weight"):
        cell = rnn.from_state_dict(sd, "rnn_tanh", readout="fc")
    H = np.random.default_rng(0).uniform(-1, 1, (5, 64))
    np.testing.assert_allclose(cell.readout(H), H @ sd["fc.weight"].T + sd["fc.bias"], rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match=r"readout 'decoder'.*no decoder\.weight"):
        rnn.from_state_dict(sd, "rnn_tanh", readout="decoder")


def test_the_only_candidate_is_the_readout_and_a_warning_names_it(net):
    with pytest.warns(UserWarning, match=r"readout: fc\.weight \(3, 64\)"):
        cell = rnn.from_state_dict(torch_style(net), "rnn_tanh")
    np.testing.assert_array_equal(cell.W_out, net.W_out)
    with warnings.catch_warnings():  # named: nothing to say
        warnings.simplefilter("error")
        rnn.from_state_dict(torch_style(net), "rnn_tanh", readout="fc")


def test_a_key_that_is_not_used_is_named(net):
    sd = {**torch_style(net), "encoder.weight": np.ones((3, 3)), "bn.num_batches_tracked": np.array(7)}
    with pytest.warns(UserWarning, match=r"not used.*bn\.num_batches_tracked, encoder\.weight"):
        rnn.from_state_dict(sd, "rnn_tanh", readout="fc")


def test_a_network_without_readout_is_analysed_without_corners(tmp_path, capsys, net):
    np.savez(tmp_path / "bare.npz", **torch_style(net, readout=None))
    code, out, err = run(capsys, "flipflop", "--model", tmp_path / "bare.npz", "--cell", "rnn_tanh",
                         "--out", tmp_path / "o", "--n-starts", "256")
    assert code == 0, err
    assert len([line for line in out.splitlines() if "no readout" in line]) == 1
    report = json.loads((tmp_path / "o" / "fixed_points.json").read_text())
    assert report["accuracy"] is None and report["distinct_corners"] is None
    attractors = np.array([a["x"] for a in report["attractors"]])
    assert len(attractors) == 8 and tanh_residual(net, attractors, np.zeros(3)).max() < 1e-10
    assert all(set(a) == {"id", "x"} for a in report["attractors"])
    assert not (tmp_path / "o" / "trials.png").exists()
    for name in ("state_space.png", "spectrum.png", "graph.png", "graph.graphml", "report.html"):
        assert (tmp_path / "o" / name).is_file(), name


# --------------------------------------------------------------------- cells
def test_a_single_gate_layer_needs_its_cell(tmp_path, capsys, net):
    sd = torch_style(net)
    with pytest.raises(ValueError, match=r"cell='rnn_tanh' or cell='rnn_relu'"):
        rnn.from_state_dict(sd)
    np.savez(tmp_path / "m.npz", **sd)
    code, out, err = run(capsys, "flipflop", "--model", tmp_path / "m.npz", "--out", tmp_path / "o")
    assert code == 2 and out == ""
    assert "--cell rnn_tanh or --cell rnn_relu" in one_line(err)


@pytest.mark.parametrize("gates, cls", [(3, rnn.GRU), (4, rnn.LSTM)])
def test_gru_and_lstm_are_inferred_from_their_gate_rows(gates, cls):
    rng = np.random.default_rng(gates)
    sd = {"rnn.weight_ih_l0": rng.normal(size=(gates * 4, 2)), "rnn.weight_hh_l0": rng.normal(size=(gates * 4, 4))}
    assert type(rnn.from_state_dict(sd)) is cls


def test_weights_that_fit_no_cell_are_refused():
    with pytest.raises(ValueError, match=r"\(10, 5\) fits no cell"):
        rnn.from_state_dict({"weight_ih_l0": np.zeros((10, 2)), "weight_hh_l0": np.zeros((10, 5))})


def test_a_cell_that_contradicts_the_file_is_refused(net):
    with pytest.raises(ValueError, match="holds a rnn_tanh network.*not rnn_relu"):
        rnn.load_network(rnn.FLIPFLOP_PATH, cell="rnn_relu")
    assert rnn.load_network(rnn.FLIPFLOP_PATH).cell == "rnn_tanh"


# --------------------------------------------------------------- checkpoints
@pytest.fixture
def fake_torch(monkeypatch):
    """A stand-in for torch whose ``load`` returns (or raises) ``fake_torch.content`` and records its arguments."""
    fake = types.SimpleNamespace(calls=[], content=None)

    def load(path, **kwargs):
        fake.calls.append(kwargs)
        if isinstance(fake.content, Exception):
            raise fake.content
        return fake.content

    fake.load = load
    monkeypatch.setitem(sys.modules, "torch", fake)
    return fake


@pytest.mark.parametrize("key", ["model", "state_dict"])
def test_a_checkpoint_is_unwrapped_and_said_so(tmp_path, fake_torch, net, key):
    (tmp_path / "ckpt.pt").write_bytes(b"")
    fake_torch.content = {key: torch_style(net), "epoch": 12, "optimizer": {"state": {}}}
    with pytest.warns(UserWarning, match=rf"checkpoint.*entry '{key}'"):
        cell = rnn.load_network(tmp_path / "ckpt.pt", cell="rnn_tanh", readout="fc")
    assert fake_torch.calls == [{"map_location": "cpu", "weights_only": True}]
    np.testing.assert_array_equal(cell.weight_hh, net.weight_hh)
    np.testing.assert_array_equal(cell.W_out, net.W_out)


def test_a_pickled_module_is_refused_in_one_line(tmp_path, capsys, fake_torch):
    (tmp_path / "whole.pt").write_bytes(b"")
    fake_torch.content = pickle.UnpicklingError("Weights only load failed.\n  Unsupported global: __main__.Net")
    with pytest.raises(ValueError, match=r"torch\.save\(model\.state_dict\(\), path\)"):
        rnn.load_network(tmp_path / "whole.pt")
    code, _, err = run(capsys, "flipflop", "--model", tmp_path / "whole.pt", "--out", tmp_path / "o")
    assert code == 2 and "torch.save(model.state_dict(), path)" in one_line(err)


def test_a_pt_file_without_torch_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "m.pt").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ValueError, match=r"needs PyTorch.*numpy\.savez"):
        rnn.load_network(tmp_path / "m.pt", cell="rnn_tanh")


def test_real_torch_files(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.RNN(3, 5, nonlinearity="relu", batch_first=True).double()
    torch.save(module, tmp_path / "whole.pt")
    with pytest.raises(ValueError, match=r"torch\.save\(model\.state_dict\(\), path\)"):
        rnn.load_network(tmp_path / "whole.pt", cell="rnn_relu")
    torch.save({"model": module.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    with pytest.warns(UserWarning, match="entry 'model'"):
        cell = rnn.load_network(tmp_path / "ckpt.pt", cell="rnn_relu")
    U = np.random.default_rng(1).normal(size=(2, 4, 3))
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(U))
    np.testing.assert_allclose(cell.run(U), expected.numpy(), rtol=0, atol=1e-12)


def test_files_that_are_no_network_fail_in_one_line(tmp_path, capsys):
    (tmp_path / "m.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=r"an \.npz or a PyTorch \.pt/\.pth"):
        rnn.load_network(tmp_path / "m.h5")
    np.savez(tmp_path / "no_rnn.npz", w=np.zeros(2))
    (tmp_path / "text.npz").write_text("not a zip")
    for path, needle in [(tmp_path / "no_rnn.npz", "weight_hh_l0"), (tmp_path / "text.npz", "not an .npz file"),
                         (tmp_path / "missing.pt", "no network file")]:
        code, _, err = run(capsys, "analyze", path)
        assert code == 2 and needle in one_line(err)


# ------------------------------------------------------------------- options
@pytest.mark.parametrize("argv, needle", [
    (["--bits", "4"], "--bits applies only with --train"),
    (["--hidden", "8"], "--hidden applies only with --train"),
    (["--cell", "gru"], "--cell applies only with --train or --model"),
    (["--readout", "fc"], "--readout applies only with --model"),
    (["--train", "--model", "m.npz"], "exclude each other"),
    (["--input", "1,0"], "2 values given; the network has 3 inputs"),
    (["--input", "1,x,0"], "cannot read '1,x,0'"),
    (["--input", "nan,0,0"], "every value must be finite"),
    (["--n-starts", "0"], "--n-starts must be at least 1"),
])
def test_flipflop_options_out_of_place_exit_2(tmp_path, capsys, argv, needle):
    code, out, err = run(capsys, "flipflop", *argv, "--out", tmp_path / "o")
    assert code == 2 and out == "" and needle in one_line(err)


@pytest.mark.parametrize("argv, needle", [
    ([rnn.FLIPFLOP_PATH, "--input", "1,0,0,0"], "4 values given; the network has 3 inputs"),
    (["lorenz", "--input", "1"], "--input: only for a network file"),
    (["lorenz", "--cell", "gru"], "--cell: only for a network file"),
])
def test_analyze_network_options_exit_2(capsys, argv, needle):
    code, _, err = run(capsys, "analyze", *argv)
    assert code == 2 and needle in one_line(err)


# --------------------------------------------------------------------- input
def test_analyze_holds_the_input_of_a_network_file(tmp_path, capsys, net):
    u = np.array([1.0, 0.0, 0.0])
    code, out, err = run(capsys, "analyze", rnn.FLIPFLOP_PATH, "--input", "1,0,0", "--n-starts", "64",
                         "--json", tmp_path / "fp.json")
    assert code == 0, err
    points = FixedPointSet.from_json((tmp_path / "fp.json").read_text())
    fixed = points.x[points.is_fixed]
    assert len(fixed) >= 1
    assert tanh_residual(net, fixed, u).max() < 1e-10  # fixed points of the map at u = (1, 0, 0) ...
    assert tanh_residual(net, fixed, np.zeros(3)).min() > 1e-3  # ... and of no other


def test_analyze_flipflop_at_a_held_input(net):
    u = np.array([1.0, 0.0, 0.0])
    analysis = analyze_flipflop(net, input=u, n_trials=16, n_steps=100, n_starts=128)
    fixed = analysis.fixed_points.x[analysis.fixed_points.is_fixed]
    assert len(fixed) >= 1 and tanh_residual(net, fixed, u).max() < 1e-10
    assert tanh_residual(net, fixed, np.zeros(3)).min() > 1e-3
    assert "fixed points at input (1, 0, 0)" in analysis.summary()
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        analyze_flipflop(net, input=[1.0, 0.0])


# ------------------------------------------------------- broken model files
def _npz_with_header(path, header, payload=b"\0" * 64, name="weight_hh_l0.npy"):
    """An .npz whose one member has ``header`` (shape, dtype) but only ``payload`` bytes of data."""
    import io
    import zipfile

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, buf.getvalue() + payload)
    return path


def _broken_model_files(tmp_path, net):
    """name -> (path, words the one-line message must hold), for files that are not models."""
    good = net.save(tmp_path / "good.npz").read_bytes()
    files = {}

    def put(name, data, needle):
        (tmp_path / name).write_bytes(data)
        files[name] = (tmp_path / name, needle)

    put("empty.npz", b"", "empty")
    put("truncated.npz", good[: len(good) // 2], "not an .npz file")
    corrupt = bytearray(good)
    corrupt[200] ^= 0xFF
    put("crc.npz", bytes(corrupt), "CRC")
    np.save(tmp_path / "array.npy", np.zeros(3))
    put("renamed.npz", (tmp_path / "array.npy").read_bytes(), "single .npy array")
    _npz_with_header(tmp_path / "huge.npz", {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
    files["huge.npz"] = (tmp_path / "huge.npz", "74.5 GiB")
    sd = net.state_dict()
    np.savez(tmp_path / "deepmeta.npz", meta=np.array("[" * 100000 + "]" * 100000), **sd)
    files["deepmeta.npz"] = (tmp_path / "deepmeta.npz", "nested")
    np.savez(tmp_path / "nohh.npz", **{k: v for k, v in sd.items() if k != "weight_hh_l0"})
    files["nohh.npz"] = (tmp_path / "nohh.npz", "weight_hh_l0")
    np.savez(tmp_path / "complex.npz", **{**sd, "weight_hh_l0": sd["weight_hh_l0"] * (1 + 1j)})
    files["complex.npz"] = (tmp_path / "complex.npz", "complex")
    np.savez(tmp_path / "dates.npz", **{**sd, "weight_hh_l0": np.zeros((64, 64), dtype="datetime64[s]")})
    files["dates.npz"] = (tmp_path / "dates.npz", "datetime64")
    np.savez(tmp_path / "flat.npz", **{**sd, "weight_hh_l0": np.zeros(64)})
    files["flat.npz"] = (tmp_path / "flat.npz", "weight_hh")
    return files


@pytest.mark.parametrize("name", ["empty.npz", "truncated.npz", "crc.npz", "renamed.npz", "huge.npz", "deepmeta.npz",
                                  "nohh.npz", "complex.npz", "dates.npz", "flat.npz"])
def test_broken_model_files_are_value_errors_naming_the_file(tmp_path, net, name):
    path, needle = _broken_model_files(tmp_path, net)[name]
    with pytest.raises(ValueError) as info:
        rnn.load_network(path, cell="rnn_tanh")
    assert str(path) in str(info.value) and needle in str(info.value), str(info.value)
    if name not in ("nohh.npz", "flat.npz", "complex.npz", "dates.npz"):  # these have a meta naming the cell, or none
        with pytest.raises(ValueError, match=needle):
            rnn.load(path)


def test_the_header_is_checked_before_allocating(tmp_path):
    from conftest import traced_peak

    path = _npz_with_header(tmp_path / "huge.npz", {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
    peak = traced_peak(lambda: pytest.raises(ValueError, rnn.load_network, path, cell="rnn_tanh"))
    assert peak < 2**20


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """A member that would inflate 1000-fold (2 MB of deflated zeros: 2 GB) is refused from the zip directory."""
    import zipfile

    from conftest import traced_peak

    from dynsys import _io

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("weight_hh_l0.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": (2**25,)}  # 256 MiB of zeros
            np.lib.format.write_array_header_1_0(member, header)
            chunk = bytes(2**20)
            for _ in range(256):
                member.write(chunk)
    assert path.stat().st_size < 2**20 and _io.MAX_EXPANSION * path.stat().st_size < 2**28
    with pytest.raises(ValueError, match="more than 100-fold") as info:
        rnn.load_network(path, cell="rnn_tanh")
    assert str(path) in str(info.value)
    peak = traced_peak(lambda: pytest.raises(ValueError, rnn.load_network, path, cell="rnn_tanh"))
    assert peak < 2**22


def test_a_missing_weight_is_both_a_key_error_and_a_value_error(net):
    sd = {k: v for k, v in net.state_dict().items() if k != "weight_hh_l0"}
    for kind in (KeyError, ValueError):
        with pytest.raises(kind, match="weight_hh_l0"):
            rnn.from_state_dict(sd, "rnn_tanh")


@pytest.mark.parametrize("value, needle", [
    (np.zeros((4, 4)) * (1 + 1j), "complex"),
    (np.zeros((4, 4), dtype="datetime64[s]"), "datetime64"),
    (np.full((4, 4), "a"), "<U1"),
])
def test_weights_that_are_not_real_numbers_are_refused(value, needle):
    with pytest.raises(ValueError, match=needle):
        rnn.from_state_dict({"weight_ih_l0": np.zeros((4, 1)), "weight_hh_l0": value}, "rnn_tanh")


def _torch_files(tmp_path, net, torch):
    sd = {k: torch.tensor(v) for k, v in net.state_dict().items()}
    good = tmp_path / "good.pt"
    torch.save(sd, good)
    files = {}

    def save(name, obj):
        torch.save(obj, tmp_path / name)
        files[name] = tmp_path / name

    save("sparse.pt", {**sd, "weight_hh_l0": sd["weight_hh_l0"].to_sparse()})
    save("meta.pt", {k: torch.empty(v.shape, device="meta") for k, v in sd.items()})
    save("complex.pt", {**sd, "weight_hh_l0": sd["weight_hh_l0"].to(torch.complex64)})
    save("flat.pt", {**sd, "weight_hh_l0": torch.zeros(64)})
    save("evil.pt", {"weight_hh_l0": Evil()})
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:300])
    files["truncated.pt"] = tmp_path / "truncated.pt"
    return files


class Evil:
    """Unpickling this would run a command: torch.load(weights_only=True) must refuse it."""

    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("name", ["sparse.pt", "meta.pt", "complex.pt", "flat.pt", "evil.pt", "truncated.pt"])
def test_broken_torch_files_are_value_errors_naming_the_file(tmp_path, net, name):
    torch = pytest.importorskip("torch")
    path = _torch_files(tmp_path, net, torch)[name]
    for cell in (None, "rnn_tanh", "gru", "lstm", "continuous"):
        try:
            rnn.load_network(path, cell=cell)
        except rnn.AmbiguousCellError:
            assert cell is None
        except ValueError as err:
            assert str(path) in str(err)
        else:
            raise AssertionError(f"{name} loaded as {cell}")


def test_bfloat16_weights_load_exactly(tmp_path, net):
    torch = pytest.importorskip("torch")
    sd = {k: torch.tensor(v).to(torch.bfloat16) for k, v in net.state_dict().items()}
    torch.save(sd, tmp_path / "bf16.pt")
    loaded = rnn.load_network(tmp_path / "bf16.pt", cell="rnn_tanh")
    np.testing.assert_array_equal(loaded.weight_hh, sd["weight_hh_l0"].double().numpy())


def test_analyze_needs_no_readout_and_is_not_stopped_by_an_ambiguous_one(capsys, tmp_path, net):
    """An input encoder of shape (H, H) next to the readout makes two candidate readouts: the
    flip-flop job (which decodes corners) must be told which, but `analyze` studies the dynamics
    alone and goes on; its fixed points solve h = tanh(W_hh h + b) in numpy."""
    sd = torch_style(net)
    sd.update({"enc.weight": np.eye(64), "enc.bias": np.zeros(64)})
    path = tmp_path / "enc.npz"
    np.savez(path, **sd)
    code, _, err = run(capsys, "flipflop", "--model", path, "--cell", "rnn_tanh", "--out", tmp_path / "o")
    assert code == 2 and "enc.weight" in one_line(err) and "fc.weight" in err
    code, _, err = run(capsys, "analyze", path, "--cell", "rnn_tanh", "--json", tmp_path / "p.json")
    assert code == 0, err
    points = FixedPointSet.from_json((tmp_path / "p.json").read_text())
    assert len(points.fixed()) >= 8 and tanh_residual(net, points.fixed().x, np.zeros(3)).max() < 1e-10
    assert "enc.weight" not in err  # the layers that could be a readout are not wanted, not "unused"
