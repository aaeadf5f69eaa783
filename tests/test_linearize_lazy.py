"""Tests of linearize_batch(..., spectrum="leading"): the lazy linearisation by ARPACK.

The matrices are J = P D P^-1 with a real block-diagonal D built from chosen
eigenvalues (real ones, and pairs as 2 x 2 rotation-scaling blocks) and a
well-conditioned random P, so the index, dims, margin, leading eigenvalues and
E^u (the span of P's columns of the unstable blocks) are known in closed form;
"full" (dense LAPACK) is the independent second computation.
"""
import importlib
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import subspace_angles
from scipy.optimize import linear_sum_assignment
from scipy.sparse.linalg import ArpackNoConvergence
from scipy.stats import ortho_group
from unittest import mock

from dynsys import FixedPointSet, System
from dynsys.linearize import LAZY_FIELDS, LazyLinearization, Linearization, linearize_batch, linearize_matrix

lz = importlib.import_module("dynsys.linearize")


def block(kind, score, angle):
    """The real block of an eigenvalue of score ``score`` (Re lambda for a flow, |lambda| - 1 for a map)
    and argument ``angle`` (a flow: Im lambda = angle): 1 x 1 for a real one (angle 0 or pi), else the
    2 x 2 block of the pair."""
    if kind == "flow":
        a, b = score, angle
    else:
        a, b = (1 + score) * np.cos(angle), (1 + score) * np.sin(angle)
    if abs(b) < 1e-12:
        return np.array([[a]]), [complex(a)]
    return np.array([[a, b], [-b, a]]), [complex(a, b), complex(a, -b)]


def known(kind, blocks, n, seed):
    """(J, eigenvalues, unstable basis) for blocks [(score, angle)] padded to n with deep stable
    eigenvalues (score -0.5 .. -0.9, below every chosen one), P well-conditioned."""
    rng = np.random.default_rng(seed)
    parts = [block(kind, s, a) for s, a in blocks]
    size = sum(len(p[0]) for p in parts)
    while size < n:
        parts.append(block(kind, -rng.uniform(0.5, 0.9), rng.choice([0.0, np.pi, rng.uniform(0.3, 2.8)])
                           if n - size > 1 else 0.0))
        size += len(parts[-1][0])
    D = np.zeros((size, size))
    at, unstable_cols, eigenvalues = 0, [], []
    for (B, w), score in zip(parts, [s for s, _ in blocks] + [-1.0] * len(parts)):
        D[at : at + len(B), at : at + len(B)] = B
        if score > 0:
            unstable_cols += list(range(at, at + len(B)))
        eigenvalues += w
        at += len(B)
    P = ortho_group.rvs(size, random_state=rng) @ np.diag(rng.uniform(0.5, 2.0, size)) @ ortho_group.rvs(
        size, random_state=rng)
    return P @ D @ np.linalg.inv(P), np.array(eigenvalues), P[:, unstable_cols]


def assert_same_values(a, b, atol):
    """The multisets a and b of complex numbers agree within atol (matched by least total distance)."""
    assert len(a) == len(b)
    rows, cols = linear_sum_assignment(np.abs(a[:, None] - b[None, :]))
    assert_allclose(a[rows], b[cols], rtol=0, atol=atol)


def score_of(kind, w):
    return w.real if kind == "flow" else np.abs(w) - 1


cases = st.fixed_dictionaries({
    "kind": st.sampled_from(["flow", "map"]),
    "n": st.integers(40, 120),
    "unstable": st.lists(st.tuples(st.floats(0.05, 1.0), st.sampled_from([0.0, np.pi, 0.7, 1.9])), max_size=4),
    "lead": st.tuples(st.floats(-0.3, -0.01), st.sampled_from([0.0, np.pi, 1.1])),
    "seed": st.integers(0, 2**31),
})


@settings(max_examples=20, deadline=None)
@given(cases)
def test_leading_agrees_with_full_and_with_the_chosen_spectrum(case):
    kind = case["kind"]
    if kind == "flow":  # a flow's real eigenvalue has angle 0 only
        case["unstable"] = [(s, 0.0 if a == np.pi else a) for s, a in case["unstable"]]
        case["lead"] = (case["lead"][0], 0.0 if case["lead"][1] == np.pi else case["lead"][1])
    J, w, U = known(kind, case["unstable"] + [case["lead"]], case["n"], case["seed"])
    full = linearize_matrix(J, kind)
    lazy = linearize_matrix(J, kind, spectrum="leading")
    assert isinstance(lazy, LazyLinearization) and not lazy.is_computed
    n, u = len(J), U.shape[1]
    # closed forms from the chosen spectrum
    assert lazy.index == u and lazy.dims == (n - u, u, 0)
    scores = score_of(kind, w)
    assert lazy.margin == pytest.approx(np.min(np.abs(scores)), abs=1e-9)
    expected_leading = w[scores >= case["lead"][0] - 1e-12]  # every unstable one and the leading stable one(s)
    assert_same_values(lazy.leading_eigenvalues, expected_leading, 1e-9)
    if u:
        assert np.max(subspace_angles(lazy.Eu, U)) < 1e-8
        assert_allclose(lazy.Eu.T @ lazy.Eu, np.eye(u), atol=1e-12)
    # the same answers as the dense computation
    assert (lazy.index, lazy.dims, lazy.label, lazy.flip) == (full.index, full.dims, full.label, full.flip)
    assert lazy.margin == pytest.approx(full.margin, abs=1e-10)
    assert_same_values(lazy.leading_eigenvalues, full.eigenvalues[: len(lazy.leading_eigenvalues)], 1e-9)
    assert not lazy.is_computed  # nothing above needed the whole spectrum


def test_lazy_fields_equal_fulls_and_are_computed_once():
    J, _, _ = known("map", [(0.3, 0.7), (0.1, np.pi), (-0.05, 0.0)], 80, 1)
    full, lazy = linearize_matrix(J, "map"), linearize_matrix(J, "map", spectrum="leading")
    assert lazy.label == full.label == "saddle-focus (flip)" and lazy.index == 3
    assert "leading_eigenvalues=" in repr(lazy) and not lazy.is_computed
    with mock.patch.object(lz, "_linearizations", wraps=lz._linearizations) as spy:
        for name in LAZY_FIELDS:
            assert_array_equal(getattr(lazy, name), getattr(full, name))
        assert lazy.leading.tolist() == full.leading.tolist()
        assert spy.call_count == 1
    assert lazy.is_computed and repr(lazy).startswith("LazyLinearization(map") and "eigenvalues=[" in repr(lazy)
    assert all(not getattr(lazy, name).flags.writeable for name in LAZY_FIELDS + ("Eu", "jacobian"))
    with pytest.raises(AttributeError):
        lazy.no_such_field


def test_pickle_keeps_it_lazy_and_fixed_point_set_save_load(tmp_path):
    J, _, _ = known("flow", [(0.4, 0.0), (-0.1, 0.0)], 60, 2)
    full, lazy = linearize_matrix(J, "flow"), linearize_matrix(J, "flow", spectrum="leading", x=np.zeros(60))
    again = pickle.loads(pickle.dumps(lazy))
    assert isinstance(again, LazyLinearization) and not again.is_computed
    assert (again.label, again.index, again.dims, again.margin) == (lazy.label, lazy.index, lazy.dims, lazy.margin)
    assert_array_equal(again.Es, full.Es)
    points = FixedPointSet(x=np.zeros((1, 60)), q=np.zeros(1), speed=np.zeros(1), is_fixed=np.array([True]),
                           is_slow=np.array([False]), linearizations=(lazy,), kind="flow",
                           state_names=tuple(f"x{i}" for i in range(60)))
    loaded = FixedPointSet.load(points.save(tmp_path / "points.npz"))
    (back,) = loaded.linearizations
    assert type(back) is Linearization and back.label == full.label == "saddle"
    for name in LAZY_FIELDS + ("Eu",):
        assert_array_equal(getattr(back, name), getattr(lazy, name))
    assert_array_equal(loaded.eigenvalues[0], full.eigenvalues)


def test_near_the_stability_boundary():
    """Eigenvalues 1 +- 1e-6 of a map: unstable and leading stable with tol = 1e-8 (margin 1e-6);
    with tol = 1e-5 both are centre eigenvalues, decided from the whole spectrum (full fallback)."""
    J, _, U = known("map", [(1e-6, 0.0), (-1e-6, np.pi)], 50, 3)
    lazy = linearize_matrix(J, "map", spectrum="leading")
    assert isinstance(lazy, LazyLinearization)
    assert (lazy.index, lazy.label, lazy.flip) == (1, "saddle (flip)", True)
    assert lazy.margin == pytest.approx(1e-6, rel=1e-6)
    assert np.max(subspace_angles(lazy.Eu, U)) < 1e-8
    coarse = linearize_matrix(J, "map", tol=1e-5, spectrum="leading")
    full = linearize_matrix(J, "map", tol=1e-5)
    assert type(coarse) is Linearization and coarse.label == full.label == "non-hyperbolic (flip)" and coarse.dims[2] == 2


def test_arpack_failure_and_repellers_fall_back_to_full():
    J, _, _ = known("flow", [(0.2, 1.1), (-0.1, 0.0)], 50, 4)
    full = linearize_matrix(J, "flow")
    with mock.patch.object(lz, "eigs", side_effect=ArpackNoConvergence("no convergence", [], [])) as failing:
        fallback = linearize_matrix(J, "flow", spectrum="leading")
    assert failing.called and type(fallback) is Linearization
    assert (fallback.label, fallback.dims) == (full.label, full.dims) == ("saddle-focus", (48, 2, 0))
    assert_array_equal(fallback.eigenvalues, full.eigenvalues)
    repeller = linearize_matrix(np.diag(np.linspace(1.5, 3.0, 40)), "map", spectrum="leading")
    assert type(repeller) is Linearization and repeller.label == "unstable node" and repeller.index == 40


def test_failing_basis_test_falls_back_to_full():
    J, _, _ = known("map", [(0.5, 0.0)], 40, 5)
    with mock.patch.object(lz, "_accepted_basis", return_value=None):
        lin = linearize_matrix(J, "map", spectrum="leading")
    assert type(lin) is Linearization and lin.index == 1


def test_linearize_batch_spectrum_auto_and_argument_check(monkeypatch):
    """A linear system x' = A x: its Jacobian is A at every point."""
    A, _, _ = known("flow", [(0.3, 0.0), (0.2, 0.9)], 48, 6)
    system = System.from_callable(lambda X: X @ A.T, 48, jacobian=lambda X: np.repeat(A[None], len(X), axis=0),
                                  kind="flow", vectorized=True, name="linear")
    X = np.random.default_rng(0).standard_normal((3, 48))
    assert all(type(lin) is Linearization for lin in linearize_batch(system, X, spectrum="auto"))  # 48 < 512
    monkeypatch.setattr(lz, "LEADING_MIN_DIM", 40)
    lins = linearize_batch(system, X, spectrum="auto")
    assert all(isinstance(lin, LazyLinearization) for lin in lins)
    assert [lin.index for lin in lins] == [3, 3, 3] and [lin.label for lin in lins] == ["saddle-focus"] * 3
    assert_array_equal(lins[1].x, X[1])
    with pytest.raises(ValueError, match="spectrum must be one of"):
        linearize_batch(system, X, spectrum="partial")


def test_a_fixed_point_set_of_lazy_linearizations_stays_lazy_until_eigenvalues_are_read():
    Js = [known("map", [(0.2 * (i + 1), 0.0), (-0.1, 1.1)], 50, 10 + i)[0] for i in range(2)]
    full = [linearize_matrix(J, "map") for J in Js]
    lazy = [linearize_matrix(J, "map", spectrum="leading") for J in Js]
    points = FixedPointSet(x=np.eye(2, 50), q=np.zeros(2), speed=np.zeros(2), is_fixed=np.array([True, True]),
                           is_slow=np.array([False, False]), linearizations=tuple(lazy), kind="map",
                           state_names=tuple(f"x{i}" for i in range(50)))
    assert points.kinds.tolist() == ["saddle", "saddle"] and points.index.tolist() == [1, 1]
    assert points.label.tolist() == ["saddle-focus"] * 2 == [lin.label for lin in full]
    assert not any(lin.is_computed for lin in lazy)
    assert_array_equal(points.eigenvalues, np.array([lin.eigenvalues for lin in full]))
    assert all(lin.is_computed for lin in lazy)


def test_find_fixed_points_linearises_with_spectrum_auto(monkeypatch):
    """x' = A x has the one fixed point 0, a saddle of index 2 (A's spectrum chosen)."""
    from dynsys import find_fixed_points

    A, _, _ = known("flow", [(0.3, 0.0), (0.5, 0.0), (-0.2, 0.0)], 48, 7)
    system = System.from_callable(lambda X: X @ A.T, 48, jacobian=lambda X: np.repeat(A[None], len(X), axis=0),
                                  kind="flow", vectorized=True, name="linear")
    starts = np.random.default_rng(1).standard_normal((4, 48))
    monkeypatch.setattr(lz, "LEADING_MIN_DIM", 40)
    points = find_fixed_points(system, starts)
    (lin,) = points.linearizations
    assert isinstance(lin, LazyLinearization) and not lin.is_computed
    assert (lin.index, lin.label, points.kinds.tolist()) == (2, "saddle", ["saddle"])
    assert_allclose(points.x[0], 0.0, atol=1e-8)
