"""Tests of dynsys.linearize on systems with known answers (dynsys.testing).

Expected dimensions, indices and labels come from the spectra the systems
were built with, from closed forms derived by hand, or from independent
numpy/sympy computations; expected subspaces from the change of basis P
that built the matrix.
"""
import importlib
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.linalg import block_diag, null_space, orth, schur, subspace_angles
from scipy.linalg import eig as scipy_eig
from scipy.optimize import linear_sum_assignment

from dynsys import System
from dynsys.linearize import FLIP, LABELS, linearize, linearize_batch, linearize_matrix
from dynsys.testing import (
    GROUPS,
    Spectrum,
    affine_maps,
    conjugate,
    linear_systems,
    polynomial_systems,
    spectra,
)

# dynsys exports a function named linearize, which hides the module as an attribute
lz = importlib.import_module("dynsys.linearize")

KINDS = ["flow", "map"]
BASES = {"stable": "Es", "unstable": "Eu", "centre": "Ec"}


# ------------------------------------------------------------------ helpers
def projector(B):
    """Orthogonal projector onto the column span of B (any basis)."""
    Q = orth(B) if B.shape[1] else B
    return Q @ Q.T


def assert_same_subspace(B, C, atol=1e-8):
    assert B.shape[1] == C.shape[1]
    assert_allclose(projector(B), projector(C), atol=atol)


def assert_invariant_bases(lin, rank_tol=1e-6):
    """Es, Eu, Ec real orthonormal, J-invariant, together spanning R^n
    (singular values of [Es Eu Ec] above ``rank_tol``)."""
    J = lin.jacobian
    n = J.shape[0]
    scale = max(1.0, np.linalg.norm(J, 2))
    for B in (lin.Es, lin.Eu, lin.Ec):
        assert B.dtype == float
        assert_allclose(B.T @ B, np.eye(B.shape[1]), atol=1e-12)
        residual = J @ B - B @ (B.T @ J @ B)
        assert np.linalg.norm(residual) <= 1e-10 * scale
    assert sum(lin.dims) == n
    assert np.linalg.matrix_rank(np.hstack([lin.Es, lin.Eu, lin.Ec]), tol=rank_tol) == n


def assert_same_eigenvalues(computed, expected, atol=1e-9):
    """Equal as multisets (optimal matching)."""
    cost = np.abs(np.asarray(computed)[:, None] - np.asarray(expected)[None, :])
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max() <= atol


def origin(case):
    return np.zeros(case.system.dim)


# ------------------------------------------------------- linear systems
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_linear_systems_match_their_spectrum(kind, data):
    case = data.draw(linear_systems(kind, groups=GROUPS))
    spec = case.spectrum
    lin = linearize(case.system, origin(case))
    assert (lin.dims, lin.index, lin.label, lin.flip) == (spec.dims, spec.index, spec.label, spec.flip)
    assert lin.label.removesuffix(FLIP) in LABELS
    assert lin.is_hyperbolic == (spec.dims[2] == 0)
    assert lin.is_attractor == (spec.dims[1:] == (0, 0))
    assert lin.is_saddle == (spec.dims[0] > 0 and spec.dims[1] > 0 and spec.dims[2] == 0)
    assert lin.margin == pytest.approx(spec.margin, abs=1e-9)
    assert lin.tol.shape == (case.system.dim,)
    assert np.all(lin.tol >= 1e-8 * np.maximum(1.0, np.abs(lin.eigenvalues)))
    assert_same_eigenvalues(lin.eigenvalues, spec.eigenvalues)
    # sorted by decreasing Re (flow) or modulus (map); eigenpairs with unit vectors
    key = lin.eigenvalues.real if kind == "flow" else np.abs(lin.eigenvalues)
    assert np.all(np.diff(key) <= 1e-12)
    V = lin.eigenvectors
    assert_allclose(np.linalg.norm(V, axis=0), 1.0)
    assert_allclose(case.A @ V, V * lin.eigenvalues, atol=1e-9)
    # bases: orthonormal, invariant, and the very subspaces P built
    assert_invariant_bases(lin)
    for group, attr in BASES.items():
        assert_same_subspace(getattr(lin, attr), case.subspace(group))


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_affine_change_of_coordinates_preserves_the_classification(kind, data):
    case = data.draw(linear_systems(kind, dims=(1, 4), groups=GROUPS))
    M, b = data.draw(affine_maps(case.system.dim))
    moved = conjugate(case.system, M, b)
    assert_allclose(moved.residual(b), 0.0, atol=1e-12)  # the origin moved to b
    lin = linearize(moved, b)
    spec = case.spectrum
    assert (lin.dims, lin.index, lin.label) == (spec.dims, spec.index, spec.label)
    assert_same_eigenvalues(lin.eigenvalues, spec.eigenvalues, atol=1e-8)
    for group, attr in BASES.items():
        assert_same_subspace(getattr(lin, attr), M @ case.subspace(group))


@given(linear_systems("flow", groups=GROUPS))
def test_reversing_time_swaps_stable_and_unstable(case):
    forward = linearize(case.system, origin(case))
    backward = linearize(case.system.reverse_time(), origin(case))
    s, u, c = forward.dims
    assert backward.dims == (u, s, c)
    assert_same_subspace(backward.Es, forward.Eu)
    assert_same_subspace(backward.Eu, forward.Es)
    assert_same_subspace(backward.Ec, forward.Ec)
    # -A has eigenvalues -a -+ ib: pairs stored with b > 0 become -a + ib
    swap = {"stable": "unstable", "unstable": "stable", "centre": "centre"}
    spec = case.spectrum
    reversed_spec = Spectrum(
        "flow", tuple(complex(-z.real, z.imag) for z in spec.blocks), tuple(swap[g] for g in spec.groups)
    )
    assert backward.label == reversed_spec.label


# ------------------------------------------- labels from the dominant eigenvalues
ROLES = {  # role: (group of the weakest blocks, sign of their score, label without "focus"/"node")
    "attractor": ("stable", -1.0, "stable {}"),
    "repeller": ("unstable", 1.0, "unstable {}"),
    "saddle": ("stable", -1.0, "saddle{}"),
}


@st.composite
def known_leading(draw, kind, role):
    """A point whose dominant eigenvalues are known by construction.

    J = Q D Q^T with D block diagonal (``Spectrum.matrix``) and Q a random
    orthogonal matrix.  D holds one or two "weakest" blocks at a common score
    s with |s| in [0.05, 0.4] (the leading stable blocks of an attractor or a
    saddle, the leading unstable ones of a repeller), each a real eigenvalue
    (of either sign for a map) or a pair; "deeper" blocks of the same group,
    of every kind, with |score| >= 0.45; and for a saddle 1 to 3 unstable
    dimensions, all dominant.  Returns (J, label, dominant eigenvalues), the
    label read off the construction: "focus" when a dominant block is a
    pair, " (flip)" when one is real and negative.
    """
    group, sign, pattern = ROLES[role]
    score = sign * draw(st.floats(0.05, 0.4))
    weakest = []
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.booleans()):  # a pair
            if kind == "flow":
                weakest.append(complex(score, draw(st.floats(0.1, 3.0))))
            else:
                weakest.append((1.0 + score) * np.exp(1j * draw(st.floats(0.1, np.pi - 0.1))))
        else:
            side = draw(st.sampled_from((1.0, -1.0))) if kind == "map" else 1.0
            weakest.append(complex(score if kind == "flow" else side * (1.0 + score), 0.0))
    deeper = draw(spectra(kind, (1, 4), groups=(group,), margin=0.45))
    unstable = draw(spectra(kind, (1, 3), groups=("unstable",))).blocks if role == "saddle" else ()
    dominant = Spectrum(kind, (*weakest, *unstable), (group,) * len(weakest) + ("unstable",) * len(unstable))
    spectrum = Spectrum(kind, dominant.blocks + deeper.blocks, dominant.groups + deeper.groups)
    focus = any(z.imag != 0 for z in dominant.blocks)
    flip = kind == "map" and any(z.imag == 0 and z.real < 0 for z in dominant.blocks)
    shape = ("-focus" if focus else "") if role == "saddle" else ("focus" if focus else "node")
    label = pattern.format(shape) + (FLIP if flip else "")
    assert spectrum.label == label  # dynsys.testing states the same rule
    Q = rotation(draw(st.integers(0, 2**32 - 1)), spectrum.n)
    return Q @ spectrum.matrix() @ Q.T, label, dominant.eigenvalues


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_label_follows_the_dominant_eigenvalues(kind, role, data):
    """Whatever lies deeper (pairs, negative eigenvalues), the weakest blocks
    (and a saddle's unstable ones) decide node/focus and flip."""
    J, label, dominant = data.draw(known_leading(kind, role))
    lin = linearize_matrix(J, kind)
    assert (lin.label, lin.flip) == (label, label.endswith(FLIP))
    assert len(lin.leading) == len(dominant)
    assert_same_eigenvalues(lin.eigenvalues[lin.leading], dominant)
    assert_same_eigenvalues(lin.eigenvalues, np.linalg.eigvals(J))  # the full spectrum is still there


@pytest.mark.parametrize("kind, eigenvalues, label, leading", [
    # a slow real direction, a fast spiral or fast alternation deeper inside
    ("flow", (-0.5, -2 + 3j), "stable node", [-0.5]),
    ("map", (0.7, -0.5, 0.3 + 0.4j), "stable node", [0.7]),
    ("map", (-0.7, 0.5, 0.3 + 0.4j), "stable node (flip)", [-0.7]),
    ("map", (0.3, 0.6j), "stable focus", [0.6j, -0.6j]),
    # a real eigenvalue and a pair of the same score are both leading
    ("flow", (-0.5, -0.5 + 1j, -3.0), "stable focus", [-0.5, -0.5 + 1j, -0.5 - 1j]),
    ("map", (-0.5, 0.5j, 0.2), "stable focus (flip)", [-0.5, 0.5j, -0.5j]),
    ("map", (-0.5, 0.5), "stable node (flip)", [-0.5, 0.5]),
    # repellers: the weakest unstable eigenvalues, those of smallest score
    ("flow", (0.5, 2 + 3j), "unstable node", [0.5]),
    ("map", (1.5, -3.0, 2j), "unstable node", [1.5]),
    ("map", (-1.5, 3.0), "unstable node (flip)", [-1.5]),
    # saddles: every unstable eigenvalue and the weakest stable ones
    ("flow", (0.1 + 1j, -0.2, -3 + 1j), "saddle-focus", [0.1 + 1j, 0.1 - 1j, -0.2]),
    ("flow", (2.0, -0.2, -3 + 1j), "saddle", [2.0, -0.2]),
    ("map", (1.2, 0.7, -0.6 + 0.1j, -0.5), "saddle", [1.2, 0.7]),
    ("map", (-1.2, 3.0, 0.7, -0.5), "saddle (flip)", [3.0, -1.2, 0.7]),
    ("map", (1.2, -0.7, 0.5), "saddle (flip)", [1.2, -0.7]),
])
def test_dominant_eigenvalues_by_hand(kind, eigenvalues, label, leading):
    blocks = tuple(complex(z) for z in eigenvalues)
    score = [z.real if kind == "flow" else abs(z) - 1 for z in blocks]
    spectrum = Spectrum(kind, blocks, tuple("stable" if v < 0 else "unstable" for v in score))
    Q = rotation(3, spectrum.n)
    lin = linearize_matrix(Q @ spectrum.matrix() @ Q.T, kind)
    assert lin.label == label
    assert_same_eigenvalues(lin.eigenvalues[lin.leading], leading, atol=1e-12)


def test_two_dimensional_map_nodes_flip_only_along_their_leading_direction():
    """x -> diag(a, b) x: orbits (a^k x1, b^k x2) end along the axis of the
    eigenvalue of larger modulus (stable) or, in reversed time, of smaller
    modulus (unstable); they alternate sides when that eigenvalue is negative."""
    cases = {(0.8, -0.3): "stable node", (-0.8, 0.3): "stable node (flip)",
             (3.0, -2.0): "unstable node (flip)", (-3.0, 2.0): "unstable node"}
    for (a, b), label in cases.items():
        lin = linearize_matrix(np.diag([a, b]), "map")
        assert (lin.label, lin.flip) == (label, label.endswith(FLIP))
        x = np.linalg.matrix_power(np.diag([a, b]) if abs(a) < 1 else np.diag([1 / a, 1 / b]), 40) @ [1.0, 1.0]
        lead = np.argmax(np.abs(x))  # the axis the orbit ends along (forward or backward in time)
        assert lin.flip == (np.diag([a, b])[lead, lead] < 0)


def test_flipflop_attractors_are_stable_nodes():
    """The bundled 3-bit flip-flop network (64 tanh units, a map), with the
    fixed points the flip-flop job finds: every attractor has complex and
    negative eigenvalues deep inside, but its leading eigenvalue, computed
    here with numpy from the network's Jacobian, is real and positive, so
    all 8 read "stable node"."""
    from dynsys import find_fixed_points, sample_states
    from dynsys.rnn import load_flipflop
    from dynsys.tasks.flipflop import generate

    cell = load_flipflop()
    system = cell.system()
    states = cell.run(generate(128, 200, bits=3, p=0.05, seed=1234).inputs)
    points = find_fixed_points(system, sample_states(states, 1024, noise=0.05, seed=1234), tol=1e-10, seed=1234)
    attractors = points.stable()
    assert len(attractors) == 8
    for p, J in zip(attractors, system.jacobian(attractors.x)):
        w = np.linalg.eigvals(J)
        lead = w[np.argmax(np.abs(w))]
        assert abs(lead.imag) < 1e-12 and 0 < lead.real < 1
        assert np.any(w.imag != 0) and np.any((w.imag == 0) & (w.real < 0))  # read "focus (flip)" before issue 10
        assert p.label == "stable node" and not p.linearization.flip
        assert_allclose(p.eigenvalues[p.linearization.leading], [lead], atol=1e-10)


# ------------------------------------------------------- defective matrices
def rotation(seed, n):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Q


@pytest.mark.parametrize("kind, J, label, dims", [
    ("flow", [[-1.0, 1.0], [0.0, -1.0]], "stable node", (2, 0, 0)),
    ("map", [[0.5, 1.0], [0.0, 0.5]], "stable node", (2, 0, 0)),
    ("map", [[-2.0, 1.0], [0.0, -2.0]], "unstable node (flip)", (0, 2, 0)),
    ("flow", [[0.0, 1.0], [0.0, 0.0]], "non-hyperbolic", (0, 0, 2)),
])
def test_jordan_block(kind, J, label, dims):
    lin = linearize_matrix(J, kind)
    assert (lin.label, lin.dims) == (label, dims)
    assert_invariant_bases(lin)


def test_repeated_complex_pair_in_a_jordan_block():
    # J0 = [[C, I], [0, C]] (+) [1.5], C = [[a, b], [-b, a]]: a - ib, a + ib
    # each of algebraic multiplicity 2 and geometric multiplicity 1.
    a, b = -0.5, 2.0
    C = np.array([[a, b], [-b, a]])
    J0 = np.zeros((5, 5))
    J0[:2, :2] = J0[2:4, 2:4] = C
    J0[:2, 2:4] = np.eye(2)
    J0[4, 4] = 1.5
    Q = rotation(1, 5)
    lin = linearize_matrix(Q @ J0 @ Q.T, "flow")
    assert (lin.dims, lin.index, lin.label) == ((4, 1, 0), 1, "saddle-focus")
    assert_allclose(lin.eigenvalues.real, [1.5, a, a, a, a], atol=1e-6)
    assert_allclose(np.abs(lin.eigenvalues.imag), [0, b, b, b, b], atol=1e-6)
    assert_invariant_bases(lin)
    assert_same_subspace(lin.Es, Q[:, :4])
    assert_same_subspace(lin.Eu, Q[:, 4:])


def test_jordan_block_of_size_three_next_to_an_unstable_direction():
    J0 = np.diag([-2.0, -2.0, -2.0, 3.0]) + np.diag([1.0, 1.0, 0.0], 1)
    Q = rotation(2, 4)
    lin = linearize_matrix(Q @ J0 @ Q.T, "flow")
    # rounding splits -2 into -2 and -2 +- ~1e-5 i; the tolerances, from the condition numbers, cover that
    assert (lin.dims, lin.index, lin.label) == ((3, 1, 0), 1, "saddle")
    assert np.all(np.abs(lin.eigenvalues.imag) <= lin.tol)
    assert_invariant_bases(lin)
    assert_same_subspace(lin.Es, Q[:, :3])
    assert_same_subspace(lin.Eu, Q[:, 3:])


# ------------------------------------------------------ the Schur fallback
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_basis_of_group_finds_each_group(kind, data):
    case = data.draw(linear_systems(kind, groups=GROUPS))
    w = case.spectrum.eigenvalues
    score = w.real if kind == "flow" else np.abs(w) - 1  # the construction keeps 0.1 away from 0 unless centre
    groups = np.where(score < -0.05, lz.STABLE, np.where(score > 0.05, lz.UNSTABLE, lz.CENTRE))
    for group, code in {"stable": lz.STABLE, "centre": lz.CENTRE, "unstable": lz.UNSTABLE}.items():
        k = int(np.sum(groups == code))
        if k:
            B = lz._basis_of_group(case.A, w, groups, code)
            assert_allclose(B.T @ B, np.eye(k), atol=1e-12)
            assert_same_subspace(B, case.subspace(group))


def test_groups_that_are_not_intervals_of_score_get_their_own_subspaces():
    """J = [[-0.5, 1e8, 0], [0, -0.5, 0], [0, 0, -0.1]]: the defective -0.5 (a Jordan block with a
    1e8 coupling) is known only to ~1e-4 and counts as centre, while -0.1, nearer 0, is stable:
    E^s = span(e3) and E^c = span(e1, e2), which a selection by rank of score swapped."""
    J = np.array([[-0.5, 1e8, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, -0.1]])
    lin = linearize_matrix(J, "flow")
    assert lin.dims == (1, 0, 2)  # (s, u, c): the defective pair is centre at its tolerance
    assert_same_subspace(lin.Es, np.eye(3)[:, 2:])
    assert_same_subspace(lin.Ec, np.eye(3)[:, :2])
    assert_invariant_bases(lin)


def near_threshold_matrix():
    """A non-normal J = Q T Q^T (T triangular, diagonal -1, 1e-8, 2, -3) whose
    near-zero eigenvalue numpy.linalg.eig and the real Schur form of scipy
    compute differently (both are accurate only to ~eps ||T|| cond), and a
    tol whose threshold lies between the two values."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        T = np.triu(1e3 * rng.standard_normal((4, 4)), 1) + np.diag([-1.0, 1e-8, 2.0, -3.0])
        Q = rotation(seed, 4)
        J = Q @ T @ Q.T
        by_eig = np.sort(np.linalg.eigvals(J).real)[2]
        by_schur = np.sort(np.diag(schur(J, output="real")[0]))[2]
        low, high = sorted([by_eig, by_schur])
        if low > 0 and high > 2 * low:
            return J, np.sqrt(low * high) / max(1.0, np.linalg.norm(J, 2))
    pytest.skip("this LAPACK build computes eig and Schur alike on all candidates; the forced-failure test covers the fallback")


def test_schur_and_eig_disagreeing_at_the_threshold_keep_eigs_dimensions():
    """The real Schur form selects each group by rank, so its own (slightly
    different) eigenvalues cannot change the dimensions eig's decided."""
    J, tol = near_threshold_matrix()
    lin = linearize_matrix(J, "flow", tol=tol)
    w, t = lin.eigenvalues, lin.tol
    expected = (np.sum(w.real < -t), np.sum(w.real > t), np.sum(np.abs(w.real) <= t))
    assert lin.dims == expected
    assert_invariant_bases(lin, rank_tol=1e-9)  # so non-normal that E^s and E^u nearly meet


def test_fallback_when_the_real_schur_reordering_fails(monkeypatch):
    calls = []

    def failing_dtrsen(select, T, Z, **kw):  # LAPACK's info = 1: a swap was too ill-conditioned
        calls.append(select)
        return T, Z, None, None, 0, None, None, 1

    monkeypatch.setattr(lz, "dtrsen", failing_dtrsen)
    # the map x -> A x with A = P J0 P^-1, J0 = [[-2, 1], [0, -2]] (+) diag(0.5, 0.3), P upper
    # triangular ones: the defective unstable pair has one eigenvector, so its E^u = span(P e1, P e2)
    # comes from the Schur form
    P = np.triu(np.ones((4, 4)))
    J0 = np.diag([-2.0, -2.0, 0.5, 0.3]) + np.diag([1.0, 0.0, 0.0], 1)
    lin = linearize_matrix(P @ J0 @ np.linalg.inv(P), "map")
    assert calls  # the real reordering was tried and failed
    assert (lin.dims, lin.label) == ((2, 2, 0), "saddle (flip)")
    assert_same_subspace(lin.Eu, P[:, :2])
    assert_same_subspace(lin.Es, P[:, 2:])
    assert_invariant_bases(lin)


# ----------------------------------------------- bases from eigenvectors
@st.composite
def block_diagonal_flows(draw, jordan=True, max_skew=1e3, min_blocks=1):
    """(J, blocks): J = P B P^-1 with B block diagonal of ``min_blocks`` to 4 blocks: real eigenvalues,
    rotations [[a, b], [-b, a]] (a +- ib) and, if ``jordan``, Jordan blocks of size 2 or 3;
    real parts distinct multiples of 0.25 with |a| >= 0.5 (no centre directions), imaginary
    parts in [0.5, 2]; P = Q (I + skew U), Q random orthogonal, U strictly upper triangular
    N(0, 1), so that the eigenvectors are ill-conditioned for large skew.  ``blocks`` lists
    (stable, size, defective) for each block."""
    k = draw(st.integers(min_blocks, 4))
    real_parts = draw(st.lists(st.integers(2, 12), min_size=k, max_size=k, unique=True))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=k, max_size=k))
    shapes = draw(st.lists(st.sampled_from(["real", "pair"] + (["jordan2", "jordan3"] if jordan else [])),
                           min_size=k, max_size=k))
    blocks = []
    for i, sign, shape in zip(real_parts, signs, shapes):
        a = sign * 0.25 * i
        if shape == "real":
            blocks.append(np.array([[a]]))
        elif shape == "pair":
            b = draw(st.floats(0.5, 2.0))
            blocks.append(np.array([[a, b], [-b, a]]))
        else:
            m = int(shape[-1])
            blocks.append(a * np.eye(m) + np.eye(m, k=1))
    B = block_diag(*blocks)
    info = [(sign < 0, len(b), shape.startswith("jordan")) for sign, b, shape in zip(signs, blocks, shapes)]
    n = len(B)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    skew = draw(st.floats(0.0, max_skew))
    P = rotation(int(rng.integers(2**31)), n) @ (np.eye(n) + skew * np.triu(rng.standard_normal((n, n)), 1))
    return P @ B @ np.linalg.inv(P), info


def sorted_schur_subspace(J, sort):
    """Z[:, :k], T: the real Schur form of J with the k eigenvalues chosen by ``sort`` ("lhp"/"rhp") leading."""
    T, Z, k = schur(J, output="real", sort=sort)
    return Z[:, :k], T, k


def separation(T, k):
    """sep(T11, T22) = smallest singular value of X -> T11 X - X T22 (Kronecker form)."""
    T11, T22 = T[:k, :k], T[k:, k:]
    K = np.kron(np.eye(len(T22)), T11) - np.kron(T22.T, np.eye(k))
    return np.linalg.svd(K, compute_uv=False)[-1] if K.size else np.inf


@settings(max_examples=20, deadline=None)
@given(case=block_diagonal_flows(max_skew=0.3))
def test_eigenvector_bases_of_well_conditioned_groups_are_the_schur_subspaces(case):
    """With well-conditioned eigenvectors (skew <= 0.3) and no Jordan block, every basis comes
    from eigenvectors (no Schur form is computed); with a Jordan block, from eigenvectors where
    they pass the residual test, else from the Schur form.  Either way the bases span the
    subspaces of scipy's sorted Schur forms (principal angles ~ 0)."""
    J, blocks = case
    with mock.patch.object(lz, "schur", wraps=lz.schur) as spy:
        lin = linearize_matrix(J, "flow")
    if not any(defective for _, _, defective in blocks):
        assert not spy.called
    for attr, sort in (("Es", "lhp"), ("Eu", "rhp")):
        Z, _, k = sorted_schur_subspace(J, sort)
        assert getattr(lin, attr).shape[1] == k
        if k:
            assert subspace_angles(getattr(lin, attr), Z).max() <= 1e-10
    assert_invariant_bases(lin)


@settings(max_examples=20, deadline=None)
@given(case=block_diagonal_flows(max_skew=1e2))
def test_bases_of_ill_conditioned_groups_are_as_accurate_as_the_schur_form(case):
    """Skew up to 1e2 (eigenvector matrices with condition numbers up to ~1e8), Jordan blocks or
    not: each basis, from eigenvectors or the Schur form, lies within 4 (10 n eps ||J|| + n eps
    ||J||) / sep of scipy's sorted Schur subspace: the residual test's backward error plus the
    Schur form's, and the factor 4 of Stewart's theorem (Golub and Van Loan, 4th ed., section
    7.2.4).  Points where rounding makes an eigenvalue a centre one are left out."""
    J, _ = case
    lin = linearize_matrix(J, "flow")
    assume(lin.dims[2] == 0)
    n, eps = len(J), np.finfo(float).eps
    for attr, sort in (("Es", "lhp"), ("Eu", "rhp")):
        Z, T, k = sorted_schur_subspace(J, sort)
        assert getattr(lin, attr).shape[1] == k
        if 0 < k < n:
            bound = 4 * 11 * n * eps * np.linalg.norm(J, 2) / separation(T, k)
            assert subspace_angles(getattr(lin, attr), Z).max() <= max(bound, 1e-13)


def test_singular_eigenvector_matrices_get_elsners_bound():
    """x' = y, y' = z, z' = x²: at 0 the nilpotent Jordan block of size 3, whose eigenvector
    matrix may be singular (then s_i = 0 and tol_i is Elsner's bound 2^(2/3) (3 eps)^(1/3),
    ||J|| = 1, as it is anyway for s_i ~ 1e-300); at (1, 0, 0) J = [[0, 1, 0], [0, 0, 1], [2, 0, 0]]
    with eigenvalues c = 2^(1/3) times the cube roots of unity, E^u = span(1, c, c²) and
    E^s = (c², c, 1)^perp (the left eigenvector of c)."""
    s = System.from_strings({"x": "y", "y": "z", "z": "x**2"})
    zero, one = linearize_batch(s, [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    eps = np.finfo(float).eps
    assert (zero.dims, zero.label) == ((0, 0, 3), "non-hyperbolic")
    assert_allclose(zero.tol, 1e-8 + 2 ** (2 / 3) * (3 * eps) ** (1 / 3), rtol=1e-12)
    c = 2 ** (1 / 3)
    assert (one.dims, one.label) == ((2, 1, 0), "saddle-focus")
    assert_allclose(one.eigenvalues, c * np.exp(2j * np.pi * np.array([0, 1, -1]) / 3), atol=1e-12)
    assert_allclose(one.tol, independent_tolerances(one.jacobian, one.eigenvalues), rtol=1e-6)
    assert_same_subspace(one.Eu, np.array([[1.0], [c], [c**2]]))
    assert_same_subspace(one.Es, null_space(np.array([[c**2, c, 1.0]])))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), exponent=st.sampled_from([-200, -20, 0, 20, 200]))
def test_spectral_norms_match_the_largest_singular_value(seed, n, exponent):
    """||J||_2 from the Gram matrix of J / max |J_ij| equals numpy's SVD-based 2-norm, also where
    J^T J itself would overflow (1e200) or underflow (1e-200); 0 for the zero matrix."""
    J = np.random.default_rng(seed).standard_normal((3, n, n)) * np.array([10.0**exponent, 1.0, 0.0])[:, None, None]
    assert_allclose(lz._spectral_norms(J), np.linalg.norm(J, 2, axis=(1, 2)), rtol=1e-13)


def test_inverses_mark_singular_matrices_of_a_batch():
    A = np.stack([np.diag([2.0, 4.0]), np.ones((2, 2)), np.array([[0.0, 1.0], [1.0, 0.0]])])
    out = lz._inverses(A)
    assert_allclose(out[0], np.diag([0.5, 0.25]))
    assert np.isnan(out[1]).all()
    assert_allclose(out[2], A[2])


# ------------------------------------------- tolerances from the condition numbers
def independent_tolerances(J, eigenvalues, tol=1e-8):
    """tol_i of the module docstring, with s_i = 1 / (|x_i| |row i of X^-1|)
    from numpy's right eigenvectors X (rows of X^-1 are left eigenvectors)."""
    n = len(J)
    w, X = np.linalg.eig(J)
    s = 1.0 / (np.linalg.norm(X, axis=0) * np.linalg.norm(np.linalg.inv(X), axis=1))
    norm = np.linalg.norm(J, 2)
    backward = n * np.finfo(float).eps * norm
    bound = np.minimum(backward / s, (2 * norm) ** (1 - 1 / n) * backward ** (1 / n))
    tols = tol * np.maximum(1.0, np.abs(w)) + bound
    match = np.abs(np.asarray(eigenvalues)[:, None] - w[None, :]).argmin(axis=1)
    return tols[match]


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), skew=st.floats(0.0, 1e3))
def test_tolerances_follow_the_eigenvalue_condition_numbers(seed, n, skew):
    rng = np.random.default_rng(seed)
    P = np.eye(n) + skew * np.triu(rng.standard_normal((n, n)), 1)  # non-normal for large skew
    J = P @ np.diag(rng.uniform(-3, 3, n)) @ np.linalg.inv(P)
    lin = linearize_matrix(J, "flow")
    assert_allclose(lin.tol, independent_tolerances(J, lin.eigenvalues), rtol=1e-6)


@settings(max_examples=20, deadline=None)
@given(case=block_diagonal_flows(jordan=False, max_skew=1e2, min_blocks=2))
def test_condition_numbers_match_scipys_left_eigenvectors(case):
    """With tol = 0, tol_i = n eps ||J|| / s_i wherever that is below Elsner's bound: s_i recovered
    from it matches |y_i^H x_i| / (||y_i|| ||x_i||) from scipy's left and right eigenvectors
    (LAPACK's trevc, not the inverse of the eigenvector matrix the module uses)."""
    J, _ = case
    n, eps = len(J), np.finfo(float).eps
    lin = linearize_matrix(J, "flow", tol=0.0)
    norm = np.linalg.norm(J, 2)
    w, Y, X = scipy_eig(J, left=True, right=True)
    s = np.abs(np.sum(Y.conj() * X, axis=0)) / (np.linalg.norm(Y, axis=0) * np.linalg.norm(X, axis=0))
    match = np.abs(lin.eigenvalues[:, None] - w[None, :]).argmin(axis=1)
    first_order = n * eps * norm / s[match]
    elsner = (2 * norm) ** (1 - 1 / n) * (n * eps * norm) ** (1 / n)
    assert_allclose(lin.tol, np.minimum(first_order, elsner), rtol=1e-6)
    assert np.any(first_order < elsner)  # some tolerance is the first-order one


STIFFNESS = st.floats(2.0, 12.0).map(lambda e: 10.0**e)  # stiffness ratios 1e2 ... 1e12


@pytest.mark.parametrize("kind, slow, fast, label", [
    ("flow", -1.0, -1.0, "stable node"),
    ("flow", 1.0, -1.0, "saddle"),
    ("flow", -1.0, 1.0, "saddle"),
    ("map", 0.5, 1.0, "saddle"),  # a slow contraction next to huge expansions
    ("map", -0.5, -1.0, "saddle (flip)"),
])
@given(ratio=STIFFNESS, n=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_stiff_spectra_keep_their_slow_eigenvalue(kind, slow, fast, label, ratio, n, seed):
    """J = Q diag(slow, fast r, ..., fast r) Q^T with Q orthogonal: the slow
    eigenvalue is exactly as hyperbolic as without the fast ones, whatever r."""
    Q = rotation(seed, n)
    lin = linearize_matrix(Q @ np.diag([slow] + [fast * ratio] * (n - 1)) @ Q.T, kind)
    slow_stable = slow < 0 if kind == "flow" else abs(slow) < 1
    fast_stable = kind == "flow" and fast < 0  # |fast r| >= 100 for a map: unstable
    index = (not slow_stable) + (n - 1) * (not fast_stable)
    assert (lin.label, lin.index, lin.dims) == (label, index, (n - index, index, 0))
    slow_axis, fast_axes = Q[:, :1], Q[:, 1:]
    if slow_stable != fast_stable:
        assert_same_subspace(lin.Es, slow_axis if slow_stable else fast_axes)
        assert_same_subspace(lin.Eu, fast_axes if slow_stable else slow_axis)


def test_stiff_system_from_formulas_is_a_stable_node():
    """Issue 11: eigenvalues -1 and -1e8 at (1, 2), formerly "non-hyperbolic"
    (one tolerance 1e-8 ||J|| = 1 for both)."""
    from dynsys import find_fixed_points

    system = System.from_strings({"x": "-1e8*(x - 1)", "y": "-(y - 2)"}, bounds=[(-5, 5)] * 2)
    lin = linearize(system, [1.0, 2.0])
    assert (lin.label, lin.index, lin.dims) == ("stable node", 0, (2, 0, 0))
    assert_allclose(lin.eigenvalues, [-1.0, -1e8])
    points = find_fixed_points(system, method="exact")
    assert_allclose(points.x, [[1.0, 2.0]])
    assert points.label.tolist() == ["stable node"]


# ---------------------------------------------------------- hand examples
def lorenz(sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z, s, r, b = sp.symbols("x y z sigma rho beta", real=True)
    exprs = [s * (y - x), x * (r - z) - y, x * y - b * z]
    return System.from_sympy(exprs, [x, y, z], {s: sigma, r: rho, b: beta}, name="lorenz")


def test_lorenz_origin_is_an_index_one_saddle():
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    lin = linearize(lorenz(), [0.0, 0.0, 0.0])
    # eigenvalues -beta and the roots of l^2 + (sigma + 1) l - sigma (rho - 1) = 0
    root = np.sqrt((sigma + 1) ** 2 / 4 + sigma * (rho - 1))
    l_plus, l_minus = -(sigma + 1) / 2 + root, -(sigma + 1) / 2 - root
    assert_allclose(lin.eigenvalues, [l_plus, -beta, l_minus], atol=1e-12)
    assert (lin.label, lin.index, lin.dims) == ("saddle", 1, (2, 1, 0))
    assert lin.is_saddle and not lin.is_attractor
    assert lin.margin == pytest.approx(beta)
    # eigenvectors (1, 1 + l / sigma, 0) from the first row, and e_z for -beta
    v = lambda l: np.array([[1.0], [1.0 + l / sigma], [0.0]])
    assert_same_subspace(lin.Eu, v(l_plus))
    assert_same_subspace(lin.Es, np.hstack([v(l_minus), [[0.0], [0.0], [1.0]]]))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_lorenz_off_origin_fixed_points_are_index_two_saddle_foci(sign):
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    c = sign * np.sqrt(beta * (rho - 1))
    lin = linearize(lorenz(), [c, c, rho - 1])
    # characteristic polynomial there: l^3 + (s + b + 1) l^2 + b (s + r) l + 2 s b (r - 1)
    expected = np.roots([1.0, sigma + beta + 1, beta * (sigma + rho), 2 * sigma * beta * (rho - 1)])
    assert_same_eigenvalues(lin.eigenvalues, expected)
    assert (lin.label, lin.index, lin.dims) == ("saddle-focus", 2, (1, 2, 0))


@pytest.mark.parametrize("kind", KINDS)
def test_rotation_is_a_centre(kind):
    theta = 0.7
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    J = R if kind == "map" else theta * np.array([[0.0, -1.0], [1.0, 0.0]])
    lin = linearize_matrix(J, kind)
    assert (lin.label, lin.dims, lin.index, lin.flip) == ("centre", (0, 0, 2), 0, False)
    assert not lin.is_hyperbolic and lin.margin <= 1e-15
    expected = np.exp(1j * theta * np.array([1, -1])) if kind == "map" else 1j * theta * np.array([1, -1])
    assert_allclose(lin.eigenvalues, expected, atol=1e-15)


@pytest.mark.parametrize("eigenvalues, label, flip, attractor", [
    ((-2.0, 0.5), "saddle (flip)", True, False),
    ((-0.5, 0.3), "stable node (flip)", True, True),
    ((2.0, 0.5), "saddle", False, False),
    ((-1.0, 0.5), "non-hyperbolic (flip)", True, False),
])
def test_maps_with_negative_eigenvalues_flip(eigenvalues, label, flip, attractor):
    P = np.array([[2.0, 1.0], [1.0, 1.0]])
    lin = linearize_matrix(P @ np.diag(eigenvalues) @ np.linalg.inv(P), "map", x=[1.0, 2.0])
    assert (lin.label, lin.flip, lin.is_attractor) == (label, flip, attractor)
    assert_allclose(lin.x, [1.0, 2.0])
    assert repr(lin).startswith("Linearization(map, x=[1. 2.], label=")


def test_zero_eigenvalue_of_a_flow_is_non_hyperbolic():
    lin = linearize_matrix(np.diag([0.0, -1.0]), "flow")
    assert (lin.label, lin.dims, lin.margin) == ("non-hyperbolic", (1, 0, 1), 0.0)
    assert_same_subspace(lin.Ec, np.array([[1.0], [0.0]]))


def test_batch_evaluates_the_jacobian_once():
    # Duffing x'' = -delta x' + x - x^3: at (+-1, 0) J = [[0, 1], [-2, -delta]],
    # l^2 + delta l + 2 = 0; at the origin J = [[0, 1], [1, -delta]], l^2 + delta l - 1 = 0.
    delta = 0.5
    calls = []

    def jacobian(X):
        calls.append(len(X))
        J = np.zeros((len(X), 2, 2))
        J[:, 0, 1] = 1.0
        J[:, 1, 0] = 1.0 - 3.0 * X[:, 0] ** 2
        J[:, 1, 1] = -delta
        return J

    def f(X):
        return np.stack([X[:, 1], -delta * X[:, 1] + X[:, 0] - X[:, 0] ** 3], axis=1)

    duffing = System.from_callable(f, 2, jacobian=jacobian, vectorized=True)
    X = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]])
    lins = linearize_batch(duffing, X)
    assert calls == [3]
    assert [lin.label for lin in lins] == ["stable focus", "saddle", "stable focus"]
    focus = (-delta + np.array([1, -1]) * np.sqrt(complex(delta**2 - 8))) / 2
    saddle = (-delta + np.array([1, -1]) * np.sqrt(delta**2 + 4)) / 2
    for lin, expected, x in zip(lins, [focus, saddle, focus], X):
        assert_allclose(lin.eigenvalues, expected, atol=1e-12)
        assert_allclose(lin.x, x)
    single = linearize(duffing, X[1])
    assert_allclose(single.Eu @ single.Eu.T, lins[1].Eu @ lins[1].Eu.T)
    assert linearize_batch(duffing, np.zeros((0, 2))) == []


def test_batches_keep_their_work_arrays_within_the_memory_budget(monkeypatch):
    """With a 1 MB budget and n = 32, chunks of 2^20 // (72 n²) = 14 points: the Jacobian is
    evaluated 14 points at a time, and the memory held at the peak (tracemalloc) exceeds what the
    results keep in the end by at most the budget."""
    import tracemalloc

    monkeypatch.setattr(lz, "BATCH_BYTES", 2**20)
    n, calls = 32, []
    A = np.random.default_rng(5).standard_normal((n, n)) / np.sqrt(n)

    def jacobian(X):
        calls.append(len(X))
        return A[None] * (1.0 + X[:, :1, None] ** 2)  # J(x) = (1 + x_1²) A

    system = System.from_callable(lambda X: (X @ A.T) * (1.0 + X[:, :1] ** 2 / 3), n, jacobian=jacobian,
                                  vectorized=True)
    X = np.random.default_rng(6).standard_normal((100, n))
    tracemalloc.start()
    try:
        lins = linearize_batch(system, X)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert calls == [14] * 7 + [2]
    assert peak - kept <= 2**20
    assert_allclose(lins[-1].jacobian, (1.0 + X[-1, 0] ** 2) * A)


def test_results_are_read_only():
    lin = linearize_matrix([[-1.0, 0.0], [0.0, 2.0]], "flow")
    with pytest.raises(ValueError):
        lin.Es[0, 0] = 1.0
    with pytest.raises(AttributeError):
        lin.label = "stable node"


# ------------------------------------------------------------ bad input
def test_bad_input_is_named():
    system = lorenz()
    with pytest.raises(TypeError, match="dynsys.System"):
        linearize("lorenz", [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        linearize(system, [np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        linearize(system, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        linearize(system, [0.0, 0.0])
    with pytest.raises(ValueError, match="tol"):
        linearize(system, [0.0, 0.0, 0.0], tol=-1.0)
    with pytest.raises(ValueError, match="kind"):
        linearize_matrix(np.eye(2), "orbit")
    with pytest.raises(ValueError, match="square"):
        linearize_matrix(np.zeros((2, 3)), "flow")
    with pytest.raises(ValueError, match="real"):
        linearize_matrix([[1j]], "flow")
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        linearize_matrix(np.eye(2), "flow", x=[0.0])
    with pytest.raises(ValueError, match="non-finite"):
        linearize_matrix([[np.inf]], "map")


def test_non_finite_jacobian_names_the_point():
    system = System.from_callable(
        lambda X: np.sqrt(X), 2, jacobian=lambda X: np.zeros((len(X), 2, 2)) / X[:, :1, None], vectorized=True
    )
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=r"Jacobian .* at x = \[0\.0, 1\.0\]"):
        linearize_batch(system, [[1.0, 1.0], [0.0, 1.0]])


# ------------------------------------------- the public strategies themselves
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_spectra_keep_their_margins(kind, data):
    spec = data.draw(spectra(kind, groups=GROUPS))
    assert_same_eigenvalues(np.linalg.eigvals(spec.matrix()), spec.eigenvalues, atol=1e-12)
    assert sum(spec.dims) == spec.n == len(spec.eigenvalues)
    score = spec.eigenvalues.real if kind == "flow" else np.abs(spec.eigenvalues) - 1.0
    for value, group in zip(score, np.repeat(spec.groups, spec.sizes)):
        assert value <= -0.1 if group == "stable" else value >= 0.1 if group == "unstable" else abs(value) < 1e-15


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_polynomial_systems_vanish_exactly_at_their_roots(kind, data):
    case = data.draw(polynomial_systems(kind))
    system = case.system
    assert len(case.roots) == len({tuple(r) for r in case.roots}) <= 12
    residual = [e - x if kind == "map" else e for e, x in zip(system.exprs, system.symbols)]
    for root in case.exact_roots:
        values = [r.xreplace(dict(zip(system.symbols, root))) for r in residual]
        assert values == [0] * system.dim
    assert_allclose(system.residual(case.roots), 0.0, atol=1e-9)
    assert np.all(np.abs(np.linalg.det(system.residual_jacobian(case.roots))) > 1e-9)  # simple roots
    assert np.all((system.bounds[:, 0] < case.roots) & (case.roots < system.bounds[:, 1]))


@given(data=st.data())
def test_conjugate_jacobian_matches_finite_differences(data):
    case = data.draw(linear_systems("map", dims=(2, 3)))
    M, b = data.draw(affine_maps(case.system.dim))
    moved = conjugate(case.system, M, b)
    Y = np.random.default_rng(0).standard_normal((4, case.system.dim))
    x = (Y - b) @ np.linalg.inv(M).T
    assert_allclose(moved.rhs(Y), case.system.rhs(x) @ M.T + b, atol=1e-12)
    h = 1e-6
    E = np.eye(case.system.dim)
    fd = np.stack([(moved.rhs(Y + h * e) - moved.rhs(Y - h * e)) / (2 * h) for e in E], axis=2)
    assert_allclose(moved.jacobian(Y), fd, atol=1e-7)


def test_strategy_arguments_are_checked():
    with pytest.raises(ValueError, match="groups"):
        spectra(groups=("stable", "neutral"))
    with pytest.raises(ValueError, match="dims"):
        spectra(dims=(3, 2))
    with pytest.raises(ValueError, match="within"):
        polynomial_systems(dims=(1, 4))
    with pytest.raises(ValueError, match="M must be"):
        conjugate(lorenz(), np.eye(2), np.zeros(3))


def test_importing_dynsys_does_not_import_hypothesis_strategies():
    code = "import sys, dynsys; assert 'dynsys.testing' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
