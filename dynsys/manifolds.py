"""Stable and unstable manifolds of the saddles of a system.

The unstable manifold of a hyperbolic fixed point x*,

    W^u(x*) = {x : x(t) -> x* as t -> -inf},

is tangent at x* to the unstable subspace E^u of the linearisation
(Hartman-Grobman; the stable manifold theorem), and the stable manifold
W^s (x(t) -> x* as t -> +inf) to E^s.  Both are traced from states
x* +- eps v a small distance eps from x* along a basis v of the subspace:
for a flow, W^u by integrating them forward, W^s by integrating them
backward in time (``system.reverse_time()``).

A map's W^u of an index-1 saddle is traced as the images of a
*fundamental domain*, the segment {x* +- s v : eps <= s <= eps |lambda|^m}
whose first image (under g^m) begins where it ends (m = 2 for a flip
saddle, lambda < 0, so that each branch stays on its side): its k-th
images tile the branch.  W^s of a map needs the inverse map, which a
:class:`System` does not provide.

References
----------
J. Guckenheimer and P. Holmes, *Nonlinear Oscillations, Dynamical Systems,
and Bifurcations of Vector Fields*, Springer 1983, sections 1.3 and 1.7.
B. Krauskopf et al., "A survey of methods for computing (un)stable manifolds
of vector fields", Int. J. Bifurcation and Chaos 15 (2005) 763-791.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_real
from .linearize import Linearization
from .simulate import MAX_NORM, advance
from .systems import System, check_system

MANIFOLD_POINTS = 3000  # states stored along each branch of a flow's manifold
FUNDAMENTAL_POINTS = 400  # maps: points on the fundamental domain


def unstable_manifold(
    system: System,
    point: Linearization,
    eps: float,
    duration: float,
    *,
    max_norm: float = MAX_NORM,
    n_points: int = MANIFOLD_POINTS,
) -> np.ndarray:
    """Both branches of the unstable manifold W^u of a fixed point, as arrays of states.

    Parameters
    ----------
    system : System
    point : Linearization
        The fixed point (``point.x``) and its linearisation, e.g. from
        ``FixedPointSet.saddles().linearizations``.
    eps : float > 0
        Distance of the starts x* +- eps v from x*.
    duration : float > 0
        A flow: the time each branch is integrated.  A map: how many times
        the fundamental domain is mapped forward (by g, or g∘g for a flip
        saddle).
    max_norm : float > 0
        States beyond it are NaN (:func:`dynsys.simulate.advance`).
    n_points : int >= 2
        States stored along each branch of a flow.

    Returns
    -------
    ndarray of shape (2k, T, n)
        A flow: the branches from x* + eps v for each column v of E^u
        (k of them), then those from x* - eps v.  A map (k = 1): the two
        branches x* + s v and x* - s v, each as the ``FUNDAMENTAL_POINTS``
        points of the fundamental domain followed by each of their images.

    Raises
    ------
    ValueError
        When ``point`` has no unstable direction, or is a map's fixed point
        of index other than 1.

    Examples
    --------
    The linear saddle dx/dt = x, dy/dt = -y: W^u is the x-axis.

    >>> import sympy as sp
    >>> from dynsys import linearize
    >>> x, y = sp.symbols("x y")
    >>> saddle = System.from_sympy([x, -y], [x, y])
    >>> W = unstable_manifold(saddle, linearize(saddle, [0.0, 0.0]), 1e-3, 5.0, n_points=50)
    >>> W.shape, float(np.abs(W[..., 1]).max()), sorted(np.sign(W[:, -1, 0]).tolist())
    ((2, 50, 2), 0.0, [-1.0, 1.0])
    """
    check_system(system)
    eps = check_real(eps, "eps", positive=True)
    if point.index < 1:
        raise ValueError(f"point {np.asarray(point.x).tolist()} has no unstable direction (index 0)")
    if system.kind == "flow":
        return _branches(system, point.x, point.Eu, eps, duration, max_norm, n_points)
    if point.index != 1:
        raise ValueError(f"a map's unstable manifold is traced for index-1 saddles only, got index {point.index}")
    lam = point.eigenvalues[0].real
    m = 2 if lam < 0 else 1
    s = eps * np.abs(lam) ** (m * np.linspace(0.0, 1.0, FUNDAMENTAL_POINTS))
    v = point.Eu[:, 0]
    starts = np.concatenate([point.x + s[:, None] * v, point.x - s[:, None] * v])
    X = advance(system.iterate(m) if m > 1 else system, starts, duration, max_norm=max_norm).X
    S, n = FUNDAMENTAL_POINTS, system.dim
    return np.stack([X[:S].transpose(1, 0, 2).reshape(-1, n), X[S:].transpose(1, 0, 2).reshape(-1, n)])


def stable_manifold(
    system: System,
    point: Linearization,
    eps: float,
    duration: float,
    *,
    max_norm: float = MAX_NORM,
    n_points: int = MANIFOLD_POINTS,
) -> np.ndarray:
    """Both branches of the stable manifold W^s of a flow's fixed point, as arrays of states.

    The branches from x* +- eps w, w the columns of E^s, integrated
    backward in time for ``duration`` (``system.reverse_time()``).

    Parameters
    ----------
    system : System
        A flow.
    point : Linearization
        The fixed point and its linearisation.
    eps : float > 0
    duration : float > 0
    max_norm : float > 0
    n_points : int >= 2

    Returns
    -------
    ndarray of shape (2k, T, n)
        k = dim E^s; the branches from x* + eps w, then x* - eps w.

    Raises
    ------
    ValueError
        For a map (W^s needs the inverse map) or a point without stable
        directions.

    Examples
    --------
    The linear saddle dx/dt = x, dy/dt = -y: W^s is the y-axis.

    >>> import sympy as sp
    >>> from dynsys import linearize
    >>> x, y = sp.symbols("x y")
    >>> saddle = System.from_sympy([x, -y], [x, y])
    >>> W = stable_manifold(saddle, linearize(saddle, [0.0, 0.0]), 1e-3, 5.0, n_points=50)
    >>> W.shape, float(np.abs(W[..., 0]).max()), sorted(np.sign(W[:, -1, 1]).tolist())
    ((2, 50, 2), 0.0, [-1.0, 1.0])
    """
    check_system(system)
    eps = check_real(eps, "eps", positive=True)
    if system.kind != "flow":
        raise ValueError(f"the stable manifold of a map needs its inverse; {system.name} is a map")
    if point.Es.shape[1] == 0:
        raise ValueError(f"point {np.asarray(point.x).tolist()} has no stable direction")
    return _branches(system.reverse_time(), point.x, point.Es, eps, duration, max_norm, n_points)


def _branches(
    system: System, x: np.ndarray, E: np.ndarray, eps: float, duration: float, max_norm: float, n_points: int
) -> np.ndarray:
    """The branches (2k, T, n) leaving x along the columns of E, integrated (rk4) for ``duration``."""
    starts = np.concatenate([x + eps * E.T, x - eps * E.T])
    return advance(system, starts, duration, n_points=n_points, max_norm=max_norm).X
