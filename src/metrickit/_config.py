"""The base of every config: a dataclass made of fields and sections (nested configs), every setting with one name.

Within one config, a setting's name appears once, whichever section holds it, so a config can be written flat (CLI
flags, YAML files, keyword arguments: ``epochs=20``) and is stored nested (``{"loop": {"epochs": 20}}``). A protocol's
config contains the sections it shares with the others (the loop, the embedder, the objective, the batches) with its
own defaults, instead of repeating their fields. Defaults live in the config classes only; the CLI reads them.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any, Mapping, TypeVar

__all__ = ["Config"]

C = TypeVar("C", bound="Config")


class Config:
    """Mixin of the config dataclasses: flat names in and out, nested storage."""

    def as_dict(self) -> dict[str, Any]:
        """The config as nested plain data (sections as dicts, tuples as lists), for JSON and model files."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def flat(self) -> dict[str, Any]:
        """Every setting by its own name, sections flattened."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out.update(value.flat() if isinstance(value, Config) else {f.name: value})
        return out

    @classmethod
    def names(cls) -> list[str]:
        """The flat names of every setting, in declaration order."""
        return list(cls().flat())

    def with_flat(self: C, **values: Any) -> C:
        """A copy with the named settings (flat names, in any section) replaced and the result validated again."""
        unknown = sorted(set(values) - set(self.flat()))
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(map(repr, unknown))} for {type(self).__name__}; "
                             f"known: {', '.join(self.flat())}.")
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                mine = {k: v for k, v in values.items() if k in value.flat()}
                if mine:
                    changes[f.name] = value.with_flat(**mine)
            elif f.name in values:
                changes[f.name] = values[f.name]
        return replace(self, **changes) if changes else self

    @classmethod
    def from_flat(cls: type[C], values: Mapping[str, Any] | None = None, **more: Any) -> C:
        """The defaults with the given flat settings on top."""
        return cls().with_flat(**{**(values or {}), **more})

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Back from :meth:`as_dict` (nested) or from a flat mapping."""
        return cls.from_flat(flatten(data))


def flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nested config data (sections as dicts) as one flat mapping; flat data passes through."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value) if isinstance(value, Mapping) else {key: value})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Config):
        return value.as_dict()
    if isinstance(value, tuple):
        return list(value)
    if is_dataclass(value):
        raise TypeError(f"a config section must derive from Config; got {type(value).__name__}")
    return value
