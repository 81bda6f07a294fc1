"""On-line signature verification: per-point features of pen trajectories, dynamic time warping, and SVC2004's protocol.

- :mod:`~metrickit.signatures.features`: what a signature expert measures at each point (normalised position,
  velocity, acceleration, tangent angle, curvature, pressure, pen angles), standardised per signature.
- :mod:`~metrickit.signatures.dtw`: banded multivariate DTW (dtaidistance, C), blockwise distance matrices, a linear
  map for a learned local Mahalanobis cost.
- :mod:`~metrickit.signatures.protocol`: SVC2004's trials (5 enrolment signatures of S1-S10, genuine S11-S20, skilled
  S21-S40, 20 seeded random forgeries from the same fold), scores normalised by the references' spread, EER per user.
"""

__all__ = ["SIGNATURE_METHODS"]

SIGNATURE_METHODS = ("dtw", "dtw-lmnn", "embedder")  # what `verify train --dataset svc2004-online` learns (imports nothing heavy)
