"""What each training loss's settings mean: defaults, units, ranges, the miners it takes and whether it can use a
cross-batch memory. Torch-free, so the configs and ``--help`` read it; the loss modules check their settings with it."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LOSS_SETTINGS", "PAIR_MINERS", "TRIPLET_MINERS", "LossSettings", "check_loss_margin", "check_positive_finite", "setting_help"]

TRIPLET_MINERS = ("all", "hard", "semihard", "semihard-facenet", "random")
PAIR_MINERS = ("all", "multi-similarity")
_NONE = ("all",)  # "all": no mining, every tuple (or every sample) counts


@dataclass(frozen=True)
class LossSettings:
    """A loss's ``margin``, ``scale`` and ``temperature`` defaults (None: the loss has no such setting) with their units
    and the margin's range ``[low, high)`` (``high`` included when ``high_inclusive``)."""

    margin: float | None = None
    margin_unit: str = ""
    margin_range: tuple[float, float, bool] = (0.0, math.inf, False)
    scale: float | None = None
    scale_unit: str = ""
    temperature: float | None = None
    miners: tuple[str, ...] = _NONE
    default_miner: str = "all"
    head: bool = False  # owns one or more vectors per class, trained with it (a classifier head or proxies)
    memory: bool = False  # can draw references from a cross-batch memory (XBM)
    views: bool = False  # learns from two augmented views of each image, labelled by the image (self-supervised)


_ARC = dict(margin=0.5, margin_unit="radians (an angle added to the own class's; 0.5 rad = 28.6 degrees)",
            margin_range=(0.0, math.pi / 2, False), scale=64.0, scale_unit="s: logits are s * cos", head=True)

LOSS_SETTINGS: dict[str, LossSettings] = {
    "triplet": LossSettings(margin=0.2, margin_unit="squared Euclidean distance (plain distance with squared=False)", miners=TRIPLET_MINERS,
                            default_miner="semihard", memory=True),
    "contrastive": LossSettings(margin=1.0, margin_unit="Euclidean distance", miners=PAIR_MINERS, memory=True),
    "softmax": LossSettings(head=True),
    "protonet": LossSettings(),
    "arcface": LossSettings(**_ARC),
    "subcenter-arcface": LossSettings(**_ARC),
    "cosface": LossSettings(margin=0.35, margin_unit="cosine (subtracted from the own class's)", margin_range=(0.0, 1.0, False),
                            scale=64.0, scale_unit="s: logits are s * cos", head=True),
    "proxy-anchor": LossSettings(margin=0.1, margin_unit="cosine (delta)", margin_range=(0.0, 1.0, False), scale=32.0,
                                 scale_unit="alpha: the cosines' scale", head=True),
    "multi-similarity": LossSettings(margin=0.5, margin_unit="cosine (the base lambda)", margin_range=(-1.0, 1.0, True), scale=50.0,
                                     scale_unit="beta: the negative pairs' scale (alpha = 2)", miners=("multi-similarity", "all"),
                                     default_miner="multi-similarity", memory=True),
    "supcon": LossSettings(temperature=0.1, memory=True),
    "ntxent": LossSettings(temperature=0.07, views=True),
}


def check_loss_margin(loss: str, margin: float, name: str = "margin") -> float:
    """``margin`` as a float, if it lies in ``loss``'s range; else a one-line error naming it (``name``) with the unit."""
    settings = LOSS_SETTINGS[loss]
    margin = float(margin)
    low, high, inclusive = settings.margin_range
    if not (low <= margin and (margin <= high if inclusive else margin < high)):
        shown = "inf" if high == math.inf else f"{high:.4g}"
        raise ValueError(f"{loss}'s `{name}` is in {settings.margin_unit}, in [{low:g}, {shown}{']' if inclusive else ')'} "
                         f"(default {settings.margin}); got {margin}.")
    return margin


def check_positive_finite(value: float, name: str) -> float:
    """``value`` as a float if it is finite and > 0; else a one-line error naming it."""
    value = float(value)
    if not 0.0 < value < math.inf:
        raise ValueError(f"`{name}` must be a finite number > 0; got {value}.")
    return value


def setting_help(setting: str) -> str:
    """One line per ``setting`` ('margin', 'scale', 'temperature' or 'miner') naming, for each loss that has it, its
    default and unit (losses that share both are listed together), for ``--help``."""
    groups: dict[tuple, list[str]] = {}
    for name, settings in LOSS_SETTINGS.items():
        if setting == "miner":
            if settings.miners != _NONE:
                key = (f"{', '.join(settings.miners)} (default {settings.default_miner})",)
                groups.setdefault(key, []).append(name)
            continue
        value = getattr(settings, setting)
        if value is not None:
            unit = {"margin": settings.margin_unit, "scale": settings.scale_unit}.get(setting, "")
            groups.setdefault((f"{value:g}", unit.split(" (")[0]), []).append(name)
    parts = [f"{'/'.join(names)} {key[0]}" + (f" ({key[1]})" if len(key) > 1 and key[1] else "") for key, names in groups.items()]
    return "; ".join(parts)
