"""Per-point features of a pen trajectory, as on-line signature verification uses them (Fierrez et al., Pattern
Recognition Letters 2007; Kholmatov & Yanikoglu, PRL 2005).

Derivatives are taken per sample within each stroke (central differences, one-sided at a stroke's ends; a one-point
stroke has none): the tablet samples at a fixed 100 Hz and its clock jitters (0-2 ms and backwards steps), so dividing
by time differences would create spikes. Every feature is then standardised over the signature's own points (zero
mean, unit variance; a constant feature becomes 0), which also normalises position for translation and scale.
"""

from __future__ import annotations

import numpy as np

from metrickit.datasets.trajectories import Trajectory

__all__ = ["feature_names", "signature_features", "standardise"]

_MOTION = ("x", "y", "vx", "vy", "speed", "ax", "ay", "acceleration", "cos_angle", "sin_angle", "curvature")
_PEN = ("pressure", "dpressure", "azimuth", "altitude")


def feature_names(channels: tuple[str, ...]) -> tuple[str, ...]:
    """The features :func:`signature_features` gives for trajectories with these channels."""
    return _MOTION + tuple(name for name in _PEN if (name[1:] if name == "dpressure" else name) in channels)


def _stroke_derivative(values: np.ndarray, stroke: np.ndarray) -> np.ndarray:
    """d(values)/d(sample) within strokes: central inside, one-sided at a stroke's first and last point, 0 alone."""
    n = len(values)
    previous, following = np.maximum(np.arange(n) - 1, 0), np.minimum(np.arange(n) + 1, n - 1)
    previous = np.where(stroke[previous] == stroke, previous, np.arange(n))
    following = np.where(stroke[following] == stroke, following, np.arange(n))
    steps = (following - previous).astype(np.float64)
    steps = steps.reshape(-1, *([1] * (values.ndim - 1)))
    return np.divide(values[following] - values[previous], steps, out=np.zeros_like(values, dtype=np.float64), where=steps > 0)


def standardise(features: np.ndarray) -> np.ndarray:
    """Each column to zero mean and unit variance over the rows (constant columns become 0)."""
    centred = features - features.mean(0)
    spread = features.std(0)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-12)


def signature_features(trajectory: Trajectory) -> np.ndarray:
    """(n_points, len(feature_names(channels))) float64 features of one trajectory, standardised per signature."""
    stroke = np.cumsum(trajectory.channel("stroke_start") > 0)
    position = trajectory.points[:, [trajectory.channels.index("x"), trajectory.channels.index("y")]]
    velocity = _stroke_derivative(position, stroke)
    acceleration = _stroke_derivative(velocity, stroke)
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    angle = np.arctan2(velocity[:, 1], velocity[:, 0])
    turning = _stroke_derivative(np.unwrap(angle), stroke)  # curvature as the tangent's turn per sample
    columns = [position, velocity, speed[:, None], acceleration, np.hypot(acceleration[:, 0], acceleration[:, 1])[:, None],
               np.cos(angle)[:, None], np.sin(angle)[:, None], turning[:, None]]
    if "pressure" in trajectory.channels:
        pressure = trajectory.channel("pressure")
        columns += [pressure[:, None], _stroke_derivative(pressure, stroke)[:, None]]
    columns += [trajectory.channel(name)[:, None] for name in ("azimuth", "altitude") if name in trajectory.channels]
    return standardise(np.hstack(columns))
