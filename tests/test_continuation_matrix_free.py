"""The matrix-free continuation path (bordered GMRES, ARPACK's leading eigenvalues) against closed forms and dense.

Closed forms: the Hopfield network x' = −x + W tanh(g x) with the origin a
fixed point for every gain g has branch points where g λ = 1 for each
positive eigenvalue λ of W (the Jacobian there is −I + g W); for two ±1
patterns of overlap o, λ = (n ± o − 2)/n.  A linear flow x' = A x + s b has
the branch x(s) = −s A⁻¹ b, a straight line, with the eigenvalues of A at
every point.  The dense path is the independent computation for the folds
of a tanh network along its input.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import System, continuation, models
from dynsys.continuation import LEADING_EIGENVALUES
from dynsys.rnn import VanillaRNN

N = 40


def leading(w, k, kind):
    """The k leading eigenvalues of each row of w, as the matrix-free path orders them (a canonical order)."""
    score = w.real if kind == "flow" else np.abs(w)
    order = np.lexsort((-w.imag, -np.round(score, 9)), axis=-1)[..., :k]
    return np.take_along_axis(w, order, axis=-1)


def test_hopfield_branch_points_match_closed_form_and_dense():
    rng = np.random.default_rng(3)
    xi1 = rng.choice([-1.0, 1.0], N)
    xi2 = xi1.copy()
    overlap = 10
    xi2[: (N - overlap) // 2] *= -1  # <xi1, xi2> = overlap
    system = models.hopfield(patterns=[xi1, xi2], gain=0.5)
    exact = sorted(N / (N + sign * overlap - 2) for sign in (1, -1))
    branches = {solver: continuation(system, "gain", np.zeros(N), p_span=(0.5, 3.0), solver=solver)
                for solver in ("dense", "matrix-free")}
    free, dense = branches["matrix-free"], branches["dense"]
    assert [b.kind for b in free.bifurcations] == ["branch_point"] * 2
    for b, p in zip(free.bifurcations, exact):
        assert abs(b.p - p) <= 1e-8 * p and np.abs(b.x).max() <= 1e-10
        assert b.tangent is None  # no second tangent on the matrix-free path
    assert [b.p for b in free.bifurcations] == pytest.approx([b.p for b in dense.bifurcations], rel=1e-9)
    assert free.eigenvalues.shape == (len(free), LEADING_EIGENVALUES)
    np.testing.assert_array_equal(free.index, dense.index)  # at most 2 unstable: the 6 leading see them all
    np.testing.assert_array_equal(free.stable, dense.stable)
    # at the origin Df = (−I + g W)/τ: the leading eigenvalues are −1 + g λ for the largest λ of W
    lam = np.sort(np.linalg.eigvalsh(models.hebbian_weights([xi1, xi2])))[::-1][:LEADING_EIGENVALUES]
    np.testing.assert_allclose(free.eigenvalues.real, -1 + free.p[:, None] * lam, atol=1e-8)


def flipflop_like(seed=0):
    """A 40-unit tanh network with a planted bistable memory along its single input: folds in the input."""
    rng = np.random.default_rng(seed)
    pattern = rng.choice([-1.0, 1.0], N)
    W = 1.6 / N * np.outer(pattern, pattern) + 0.3 / np.sqrt(N) * rng.standard_normal((N, N))
    return VanillaRNN(pattern[:, None] / 4, W).system([0.0], along=[1.0]), pattern


def test_tanh_network_folds_agree_with_dense():
    system, pattern = flipflop_like()
    x0 = np.tanh(0.9 * pattern)  # near the memory's + state
    branches = {solver: continuation(system, "s", x0, p_span=(-2.0, 2.0), solver=solver)
                for solver in ("dense", "matrix-free")}
    free, dense = branches["matrix-free"], branches["dense"]
    folds = {k: [b for b in br.bifurcations if b.kind == "fold"] for k, br in branches.items()}
    assert len(folds["dense"]) == 2  # the hysteresis loop: two saddle-nodes
    assert [b.kind for b in free.bifurcations] == [b.kind for b in dense.bifurcations]
    for a, b in zip(folds["matrix-free"], folds["dense"]):
        assert abs(a.p - b.p) <= 1e-8 * (1 + abs(b.p))
        np.testing.assert_allclose(a.x, b.x, atol=1e-6)
    # the same branch point by point where both traced it: each point of one solves the other's
    assert free.p[[0, -1]] == pytest.approx(dense.p[[0, -1]])
    np.testing.assert_array_equal(np.unique(free.index), np.unique(dense.index))
    np.testing.assert_allclose(free.eigenvalues, leading(dense.eigenvalues, LEADING_EIGENVALUES, "map"), atol=1e-8)


def linear_flow(n, seed):
    """x' = A x + s b with a stable A (A = −2I + a random matrix of spectral radius about 1), matrix-free."""
    rng = np.random.default_rng(seed)
    A = -2 * np.eye(n) + rng.standard_normal((n, n)) / np.sqrt(n)
    b = rng.standard_normal(n)
    system = System.from_callable(
        lambda X, s: X @ A.T + s * b, n, params={"s": 0.0},
        jvp=lambda X, V, s: V @ A.T, vjp=lambda X, V, s: V @ A,
        param_jacobian=lambda X, s: np.broadcast_to(b[:, None], (len(X), n, 1)),
    )
    return system, A, b


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_linear_branch_is_the_straight_line(seed):
    n = 150  # above DENSE_MAX_DIM: "auto" goes matrix-free
    system, A, b = linear_flow(n, seed)
    branch = continuation(system, "s", np.zeros(n), p_span=(-1.0, 1.0))
    assert branch.eigenvalues.shape == (len(branch), LEADING_EIGENVALUES)
    assert branch.stop_reason == ("p_span", "p_span") and branch.bifurcations == ()
    direction = np.linalg.solve(A, -b)  # x(s) = s · (−A⁻¹ b)
    np.testing.assert_allclose(branch.x, branch.p[:, None] * direction, atol=1e-9)
    w = np.linalg.eigvals(A)
    rightmost = np.sort(w.real)[::-1][:LEADING_EIGENVALUES]  # real parts: a pair may be cut at the 6th
    np.testing.assert_allclose(branch.eigenvalues.real, np.broadcast_to(rightmost, branch.eigenvalues.shape),
                               atol=1e-8)
    assert branch.stable.all() and not branch.index.any()


def test_solver_is_checked():
    system, _, _ = linear_flow(4, 0)
    with pytest.raises(ValueError, match="solver must be one of"):
        continuation(system, "s", np.zeros(4), p_span=(-1.0, 1.0), solver="lu")


def hopf_plus_stable(n=60, omega=2.0):
    """The Hopf normal form in (x₀, x₁) beside n − 2 decaying coordinates x_i' = −d_i x_i, matrix-free.

    x₀' = μ x₀ − ω x₁ − x₀ r², x₁' = ω x₀ + μ x₁ − x₁ r² (r² = x₀² + x₁²): the origin has the pair
    μ ± iω, a Hopf point at μ = 0 with frequency ω; d_i in [0.5, 3] keep the other n − 2 eigenvalues stable.
    """
    d = np.linspace(0.5, 3.0, n - 2)

    def f(X, mu):
        x, y, r2 = X[:, 0], X[:, 1], X[:, 0] ** 2 + X[:, 1] ** 2
        head = np.stack([mu * x - omega * y - x * r2, omega * x + mu * y - y * r2], axis=1)
        return np.concatenate([head, -d * X[:, 2:]], axis=1)

    def jacobian_head(X, mu):  # (B, 2, 2)
        x, y = X[:, 0], X[:, 1]
        return np.stack([np.stack([mu - 3 * x**2 - y**2, -omega - 2 * x * y], -1),
                         np.stack([omega - 2 * x * y, mu - x**2 - 3 * y**2], -1)], axis=1)

    def jvp(X, V, mu):
        return np.concatenate([np.einsum("bij,bj->bi", jacobian_head(X, mu), V[:, :2]), -d * V[:, 2:]], axis=1)

    def vjp(X, V, mu):
        return np.concatenate([np.einsum("bji,bj->bi", jacobian_head(X, mu), V[:, :2]), -d * V[:, 2:]], axis=1)

    def param_jacobian(X, mu):
        out = np.zeros((len(X), n, 1))
        out[:, :2, 0] = X[:, :2]
        return out

    return System.from_callable(f, n, params={"mu": -1.0}, jvp=jvp, vjp=vjp, param_jacobian=param_jacobian)


def test_hopf_from_the_leading_eigenvalues():
    omega = 2.0
    system = hopf_plus_stable(omega=omega)
    assert system.matrix_free
    free = continuation(system, "mu", np.zeros(60), p_span=(-1.0, 1.0), solver="matrix-free")
    dense = continuation(system, "mu", np.zeros(60), p_span=(-1.0, 1.0), solver="dense")
    assert free.eigenvalues.shape == (len(free), LEADING_EIGENVALUES) < dense.eigenvalues.shape
    (hopf,) = free.bifurcations
    assert hopf.kind == "hopf" and abs(hopf.p) <= 1e-10 and abs(hopf.frequency - omega) <= 1e-8
    assert hopf.lyapunov == pytest.approx(dense.bifurcations[0].lyapunov, rel=1e-6)
    np.testing.assert_array_equal(free.index, dense.index)  # 0, then 2 past μ = 0
    # the leading eigenvalues at the origin: the 6 rightmost of μ ± iω and −d_i
    d = np.linspace(0.5, 3.0, 58)
    exact = np.stack([free.p + 1j * omega, free.p - 1j * omega] + [np.full(len(free), -di) for di in d], axis=1)
    order = np.argsort(-exact.real, axis=1, kind="stable")[:, :LEADING_EIGENVALUES]
    np.testing.assert_allclose(free.eigenvalues, np.take_along_axis(exact, order, axis=1), atol=1e-8)


def test_arpack_failing_twice_is_a_clear_runtime_error(monkeypatch):
    # ARPACK is replaced by one that never converges and finds nothing: the branch cannot be classified, and
    # the error says so and names the remedy, rather than scipy's exception escaping
    import sys

    from scipy.sparse.linalg import ArpackNoConvergence

    module = sys.modules["dynsys.continuation"]  # the attribute dynsys.continuation is the function

    def never(*args, **kwargs):
        raise ArpackNoConvergence("no convergence", np.zeros(0), np.zeros((0, 0)))

    monkeypatch.setattr(module, "eigs", never)
    system, _, _ = linear_flow(40, 0)
    with pytest.raises(RuntimeError, match=r"ARPACK found 0 of the 6 leading eigenvalues .* solver='dense'"):
        continuation(system, "s", np.zeros(40), p_span=(-1.0, 1.0), solver="matrix-free")
