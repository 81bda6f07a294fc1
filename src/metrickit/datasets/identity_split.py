"""The one record of who is what in a repeat of an identity protocol (a verification fold, a re-identification split)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["IdentitySplit"]


@dataclass(frozen=True)
class IdentitySplit:
    """``test`` identities (never seen in training), ``val`` (model selection and threshold calibration) and ``fit``
    (training), disjoint by construction and checked here. ``seed`` drew the split; ``index`` numbers a
    cross-validation fold (None otherwise). A final model's split has no test identities."""

    seed: int
    test: list
    val: list
    fit: list
    index: int | None = None

    def __post_init__(self) -> None:
        parts = {"test": set(self.test), "val": set(self.val), "fit": set(self.fit)}
        for a, b in (("test", "val"), ("test", "fit"), ("val", "fit")):
            shared = sorted(parts[a] & parts[b], key=str)
            if shared:
                raise ValueError(f"a split's {a} and {b} identities must be disjoint; both hold {shared[:5]}.")

    @property
    def label(self) -> str:
        """'fold k', 'seed s', or 'final' for a final model's split."""
        if not self.test:
            return "final"
        return f"fold {self.index}" if self.index is not None else f"seed {self.seed}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "IdentitySplit":
        """Back from :meth:`as_dict` (also a model file's older ``fold`` record, which kept no seed)."""
        return cls(int(data.get("seed", 0)), list(data["test"]), list(data["val"]), list(data["fit"]), data.get("index"))
