"""dynsys: fixed points, slow points and their stability for any dynamical system."""
from .systems import System

__all__ = ["System"]
__version__ = "0.1.0"
