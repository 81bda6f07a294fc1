import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metrickit.datasets.trajectories import Trajectory
from metrickit.signatures.features import feature_names, signature_features

CHANNELS = ("x", "y", "t", "stroke_start", "pressure", "azimuth", "altitude")


def _trajectory(rng, n=60, strokes=(0, 25, 40)) -> Trajectory:
    t = np.arange(n) * 10.0
    start = np.zeros(n)
    start[list(strokes)] = 1
    points = np.column_stack([np.cumsum(rng.normal(size=n)) * 50 + 3000, np.cumsum(rng.normal(size=n)) * 40 + 2000, t, start,
                              rng.integers(100, 900, n), rng.integers(0, 1800, n), rng.integers(300, 900, n)])
    return Trajectory(points.astype(float), CHANNELS, "synthetic")


def test_features_are_named_and_standardised_per_signature(rng):
    trajectory = _trajectory(rng)
    features = signature_features(trajectory)
    assert features.shape == (60, len(feature_names(CHANNELS))) == (60, 15)
    np.testing.assert_allclose(features.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(features.std(0), 1, atol=1e-12)
    assert feature_names(CHANNELS[:4]) == ("x", "y", "vx", "vy", "speed", "ax", "ay", "acceleration", "cos_angle", "sin_angle", "curvature")
    assert signature_features(Trajectory(trajectory.points[:, :4], CHANNELS[:4])).shape == (60, 11)


@settings(deadline=None, max_examples=25)
@given(scale=st.floats(0.1, 10), shift_x=st.floats(-5000, 5000), shift_y=st.floats(-5000, 5000), seed=st.integers(0, 1000))
def test_features_do_not_change_when_the_signature_is_moved_or_scaled(scale, shift_x, shift_y, seed):
    trajectory = _trajectory(np.random.default_rng(seed))
    moved = trajectory.points.copy()
    moved[:, 0] = moved[:, 0] * scale + shift_x
    moved[:, 1] = moved[:, 1] * scale + shift_y
    np.testing.assert_allclose(signature_features(Trajectory(moved, CHANNELS)), signature_features(trajectory), atol=1e-7)


def test_velocity_does_not_jump_across_the_pen_lift_between_strokes():
    x = np.array([0, 1, 2, 3, 1000, 1001, 1002], dtype=float)
    points = np.column_stack([x, np.zeros(7), np.arange(7) * 10.0, [1, 0, 0, 0, 1, 0, 0]])
    split = Trajectory(points, CHANNELS[:4])
    joined = Trajectory(np.column_stack([points[:, :3], [1, 0, 0, 0, 0, 0, 0]]), CHANNELS[:4])
    vx = lambda t: signature_features(t)[:, 2]  # noqa: E731
    assert np.ptp(vx(split)) < 1e-9  # one step per sample everywhere: constant speed, no spike at the lift
    assert np.ptp(vx(joined)) > 1  # read as one stroke, the 997-unit jump is a spike
