"""Every training command takes the same loss options (--loss, --miner, --margin, --scale, --temperature, --xbm, ...),
and they reach the config the command trains with."""

import pytest

from metrickit.cli._options import settings_from_args
from metrickit.cli.app import build_parser, main
from metrickit.fewshot.config import FewShotConfig
from metrickit.reid.config import ReidConfig
from metrickit.training.config import TrainConfig, load_config
from metrickit.verification.config import VerifyConfig

COMMANDS = {  # command -> (required arguments, how the command builds its config)
    "train": (["--out", "x"], lambda args: load_config(None, **settings_from_args(args, TrainConfig, given_only=True))),
    "verify train": (["--dataset", "orl", "--out", "x"], lambda args: VerifyConfig.from_flat(settings_from_args(args, VerifyConfig))),
    "reid train": (["--out", "x"], lambda args: ReidConfig.from_flat(settings_from_args(args, ReidConfig))),
    "fewshot train": (["--out", "x"], lambda args: FewShotConfig.from_flat(settings_from_args(args, FewShotConfig))),
}


def _objective(command: str, *options: str):
    required, build = COMMANDS[command]
    return build(build_parser().parse_args([*command.split(), *required, *options])).objective


@pytest.mark.parametrize("command", COMMANDS)
def test_every_training_command_takes_the_loss_options(command):
    objective = _objective(command, "--loss", "arcface", "--margin", "0.3", "--scale", "30", "--head-lr-scale", "10")
    assert (objective.loss, objective.margin, objective.scale, objective.head_lr_scale) == ("arcface", 0.3, 30.0, 10.0)
    objective = _objective(command, "--loss", "multi-similarity", "--miner", "all", "--xbm", "512", "--xbm-warmup", "20")
    assert (objective.loss, objective.miner_value, objective.xbm, objective.xbm_warmup) == ("multi-similarity", "all", 512, 20)
    assert _objective(command, "--loss", "supcon", "--temperature", "0.2").temperature_value == 0.2


@pytest.mark.parametrize("command", ["verify train", "reid train", "fewshot train"])
def test_method_and_loss_are_one_option(command):
    assert _objective(command, "--method", "cosface").loss == _objective(command, "--loss", "cosface").loss == "cosface"


def test_a_protocols_own_loss_defaults_apply_only_where_unset():
    triplet = _objective("reid train")
    assert (triplet.miner_value, triplet.margin_value) == ("hard", 0.3)  # re-id's batch-hard triplets
    assert _objective("reid train", "--margin", "0.5").margin_value == 0.5
    assert _objective("reid train", "--loss", "arcface").margin_value == 0.5  # ArcFace's own, in radians
    assert _objective("verify train").miner_value == "semihard"


@pytest.mark.parametrize("options, message", [
    (["--loss", "supcon", "--margin", "0.2"], "loss 'supcon' has no `margin`"),
    (["--loss", "contrastive", "--miner", "hard"], "`miner` 'hard' does not apply to loss 'contrastive'"),
    (["--loss", "arcface", "--margin", "2"], r"arcface's `margin` is in radians"),
    (["--loss", "arcface", "--xbm", "100"], "cannot use it"),
])
def test_bad_loss_options_are_one_line_errors(tmp_path, capsys, options, message):
    assert main(["train", "--dataset", "digits", "--out", str(tmp_path / "r"), "-q", *options]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_each_losss_units(command, capsys):
    with pytest.raises(SystemExit):
        main([*command.split(), "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    for phrase in ("triplet 0.2 (squared Euclidean distance)", "arcface/subcenter-arcface 0.5 (radians)", "cosface 0.35 (cosine)",
                   "proxy-anchor 32 (alpha", "supcon 0.1; ntxent 0.07", "--xbm SIZE"):
        assert phrase in helptext
