"""Arms for the statistics tests, built from per-user values with numpy (independent of the
reader's own aggregation)."""

from __future__ import annotations

import numpy as np

from maia_git.stats import ArmStats, RatioSums


def sums(x: np.ndarray, y: np.ndarray) -> RatioSums:
    """The RatioSums of per-user (x_u, y_u), users with y_u = 0 left out."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = y > 0
    x, y = x[keep], y[keep]
    return RatioSums(int(keep.sum()), float(x.sum()), float(y.sum()), float(x @ x),
                     float(y @ y), float(x @ y))  # fmt: skip


def binary(users: int, successes: int) -> ArmStats:
    """``users`` users with one interaction each, ``successes`` of them successful."""
    x = np.zeros(users)
    x[:successes] = 1
    return ArmStats(sums(x, np.ones(users)))


def scored(users: int, successes: int, q_users: int, mean: float, sd: float) -> ArmStats:
    """As ``binary``, the first ``q_users`` users with one quality score each, of the given mean
    and sample standard deviation."""
    arm = binary(users, successes)
    q = np.full(q_users, mean, dtype=float)
    if q_users > 1 and sd > 0:
        z = np.resize([-1.0, 1.0], q_users)
        z -= z.mean()
        q = mean + z * sd / z.std(ddof=1)
    return ArmStats(arm.completion, sums(q, np.ones(q_users)))


def clustered(x: np.ndarray, y: np.ndarray) -> ArmStats:
    return ArmStats(sums(x, y))
