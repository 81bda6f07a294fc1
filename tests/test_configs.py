"""Every config: one meaning per name, defaults in the config classes only (the CLI reads them)."""

import argparse
from dataclasses import fields

import pytest

from metrickit._config import Config
from metrickit.cli.app import build_parser
from metrickit.fewshot.config import FewShotConfig
from metrickit.reid.config import ReidConfig
from metrickit.training.config import LoopConfig, TrainConfig
from metrickit.verification.config import VerifyConfig

CONFIGS = [TrainConfig, FewShotConfig, VerifyConfig, ReidConfig]


def _leaves(config_cls) -> list[str]:
    names = []
    for f in fields(config_cls):
        default = config_cls().__getattribute__(f.name)
        names += _leaves(type(default)) if isinstance(default, Config) else [f.name]
    return names


@pytest.mark.parametrize("config_cls", CONFIGS)
def test_every_setting_has_one_name_across_sections(config_cls):
    leaves = _leaves(config_cls)
    assert len(leaves) == len(set(leaves)), sorted(n for n in leaves if leaves.count(n) > 1)


@pytest.mark.parametrize("config_cls", CONFIGS)
def test_flat_settings_round_trip_through_nested_storage(config_cls):
    config = config_cls.from_flat(epochs=3, seed=7)
    assert config.loop == LoopConfig(**{**LoopConfig().as_dict(), **config.loop.as_dict()})
    assert config_cls.from_dict(config.as_dict()) == config and config.flat()["epochs"] == 3
    with pytest.raises(ValueError, match=f"unknown setting\\(s\\) 'epoch' for {config_cls.__name__}"):
        config_cls.from_flat(epoch=3)


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
    if parser.get_default("config_class") is not None:
        yield path, parser


def test_every_cli_default_is_its_config_default():
    from metrickit.cli._options import objective_settings

    per_loss = {name for name, _ in objective_settings()}  # given-only everywhere: unset, the loss (or protocol) decides
    checked = 0
    for path, parser in _commands(build_parser()):
        config_cls, given_only = parser.get_default("config_class"), parser.get_default("given_only")
        defaults = config_cls().flat()
        for action in parser._actions:
            if action.dest in defaults:
                expected = None if given_only or action.dest in per_loss else defaults[action.dest]
                per_dataset = action.default is None and f"default: {defaults[action.dest]};" in action.help  # each dataset's default named
                assert action.default == expected or per_dataset, f"{' '.join(path)} {action.option_strings}: {action.default!r} != {expected!r}"
                assert "default" in action.help
                checked += 1
    assert checked > 40


def test_the_loss_decides_the_margin_and_the_normalisation_once():
    assert VerifyConfig.from_flat(method="contrastive").objective.margin_value == 1.0
    assert ReidConfig().objective.margin_value == 0.3 and ReidConfig().objective.miner == "hard"
    assert FewShotConfig().embedder.normalized("protonet") is False and TrainConfig().embedder.normalized("triplet") is True
