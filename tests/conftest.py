"""Test configuration: a deterministic hypothesis profile for CI and local runs.

The ``ci`` profile (the default) derandomises hypothesis and bounds the number
of examples so that the suite is reproducible and fast; set
``HYPOTHESIS_PROFILE=dev`` for a wider random search.
"""
import os
import tracemalloc
from typing import Any, Callable

from hypothesis import HealthCheck, settings

# pytest runs with --doctest-modules (the docstring Examples of dynsys/); the script that made
# the PyTorch fixture needs torch and is not a test module.
collect_ignore = ["fixtures/make_torch_reference.py"]

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def traced_peak(*calls: Callable[[], Any]) -> int:
    """Peak bytes allocated (numpy reports to tracemalloc) while running ``calls`` in order."""
    tracemalloc.start()
    try:
        for call in calls:
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
