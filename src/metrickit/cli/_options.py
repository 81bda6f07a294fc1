"""What every command shares: the common options, one declaration of --out/--overwrite and of --data-dir, config
settings as options (their defaults read from the config class), --model lists, and printing the result."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["BUDGET_SETTINGS", "DATA_DIR_HELP", "LOSS_FLAGS", "add_common", "add_data_dir", "add_output", "add_repeat_evaluation", "add_repeat_training", "add_settings",
           "class_list", "emit", "named_models", "objective_settings", "repeats_note", "settings_from_args", "show_defaults"]

DATA_DIR_HELP = ("root of the shared datasets (default: $METRICKIT_DATA, else shared/data beside the repository holding the "
                 "current folder, else ../shared/data beside the installed package's checkout)")


def add_common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument("--threads", type=int, default=None, metavar="N", help="limit BLAS/torch threads to N (default: all cores)")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    group.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    group.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def add_processes(parser: argparse.ArgumentParser) -> None:
    """Options of training on several processes, which torchrun starts: ``torchrun --nproc-per-node N -m metrickit ...``."""
    group = parser.add_argument_group("several processes (under torchrun --nproc-per-node N -m metrickit ...)")
    group.add_argument("--no-sync-bn", dest="sync_bn", action="store_false",
                       help="normalise BatchNorm by each process's part of the batch (less communication, but no longer equal to "
                            "one process); by default its statistics are reduced over all processes")


def add_data_dir(parser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)


def add_output(parser, metavar: str, what: str, *, required: bool = False, default_help: str | None = None) -> None:
    """--out (a file or a folder: ``what`` it receives) and --overwrite; nothing existing is replaced without it."""
    folder = metavar.endswith("DIR")
    help_text = f"{'folder for' if folder else 'write'} {what}" + (f" (default: {default_help})" if default_help else "")
    parser.add_argument("--out", required=required, default=None, metavar=metavar, help=help_text)
    parser.add_argument("--overwrite", action="store_true",
                        help="allow writing into an existing, non-empty --out" if folder else "replace an existing --out file")


def add_settings(parser, config_cls: type, specs: Sequence[tuple[str, dict[str, Any]]], *, given_only: bool = False) -> None:
    """One option per ``(setting name, argparse keywords)``; ``flag`` in the keywords renames the option.

    The default is the config class's (so the CLI never repeats one), or, with ``given_only`` (settings that a
    --config file may also set), None, with the class's default stated in the help.
    """
    defaults = config_cls().flat()
    for name, spec in specs:
        spec = dict(spec)
        flags = spec.pop("flag", "--" + name.replace("_", "-"))
        default = defaults[name]
        if spec.pop("given_only", given_only):
            shown = "none" if default is None else ",".join(map(str, default)) if isinstance(default, (list, tuple)) else default
            spec["help"] = f"{spec.get('help', '')} (default: {shown})".strip() if "default" not in spec.get("help", "") else spec["help"]
            default = None
        parser.add_argument(*([flags] if isinstance(flags, str) else flags), dest=name, default=default, **spec)


def settings_from_args(args: argparse.Namespace, config_cls: type, *, given_only: bool = False) -> dict[str, Any]:
    """The settings of ``config_cls`` that ``args`` holds (with ``given_only``, only those given on the command line)."""
    names = config_cls.names()
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    if given_only:
        return {k: v for k, v in values.items() if v is not None}
    defaults = config_cls().flat()  # an option declared given-only is None when not given: the config keeps its own then
    return {k: v for k, v in values.items() if v is not None or defaults[k] is None}


BUDGET_SETTINGS = [  # what every deep method trained on P x K batches lets the user set from the command line
    ("epochs", dict(type=int)),
    ("batches_per_epoch", dict(type=int)),
    ("n_classes_per_batch", dict(type=int)),
    ("n_per_class", dict(type=int)),
    ("embedding_dim", dict(type=int)),
    ("learning_rate", dict(type=float, help="Adam's learning rate")),
]


LOSS_FLAGS = ("--method", "--loss")  # a protocol's method is a loss, or a method without one (euclidean, lmnn)


def objective_settings(protocol_defaults: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The loss's settings as options, the same in every training command: --miner, --margin, --scale, --temperature
    (each help names every loss's default and unit), --head-lr-scale, --xbm and --xbm-warmup. Unset, each takes the
    loss's default, or the protocol's own (``protocol_defaults``: loss -> settings, stated in the help)."""
    from metrickit._loss_settings import setting_help
    from metrickit.training.config import MINERS

    own = "; ".join(f"{loss}: " + ", ".join(f"{k} {v}" for k, v in values.items()) for loss, values in (protocol_defaults or {}).items())
    here = f" (here {own})" if own else ""
    return [(name, {**spec, "given_only": True}) for name, spec in [
        ("miner", dict(choices=MINERS, help=f"the tuples a pair or triplet loss learns from; default the loss's: {setting_help('miner')}{here}")),
        ("margin", dict(type=float, help=f"in the loss's units; default the loss's: {setting_help('margin')}{here}")),
        ("scale", dict(type=float, help=f"default the loss's: {setting_help('scale')}")),
        ("temperature", dict(type=float, help=f"default the loss's: {setting_help('temperature')}")),
        ("head_lr_scale", dict(type=float, metavar="X", help="learning rate of a loss's own class vectors or proxies, times the "
                                                              "network's (default the loss's: proxy-anchor 100, else 1)")),
        ("xbm", dict(type=int, metavar="SIZE", help="cross-batch memory: keep the last SIZE embeddings as extra references for a "
                                                   "pair or triplet loss and its miner (default 0: none)")),
        ("xbm_warmup", dict(type=int, metavar="BATCHES", help="use the memory only after this many batches (default 0)")),
    ]]


def add_repeat_training(parser, config_cls: type, settings, handler, part: str) -> None:
    """The options ``verify train`` and ``reid train`` share: --out (the ``part`` models, the final model, results.json),
    --no-final, --data-dir, the config's settings and the common options."""
    add_output(parser, "DIR", f"the {part} models, the final model and results.json", required=True)
    parser.add_argument("--no-final", dest="final", action="store_false", help=f"train the {part}s only, no final model")
    add_data_dir(parser)
    add_settings(parser, config_cls, settings)
    add_processes(parser)
    add_common(parser)
    parser.set_defaults(handler=handler, config_class=config_cls)


def add_repeat_evaluation(parser, command: str, part: str, writes: str, handler) -> None:
    """The options ``verify eval`` and ``reid eval`` share: runs to compare, --data-dir, --out and the common options."""
    parser.add_argument("--model", required=True, action="append", metavar="[NAME=]RUN",
                        help=f"a `{command}` folder (or one {part}'s model file); repeat to compare methods")
    add_data_dir(parser)
    add_output(parser, "DIR", writes)
    add_common(parser)
    parser.set_defaults(handler=handler)


def repeats_note(results: dict, part: str, out: str) -> str:
    """The files a ``verify train`` or ``reid train`` run wrote."""
    return f"wrote {part}<k>/model.safetensors{', final/model.safetensors' if 'final' in results else ''} and results.json to {out}"


def show_defaults(parser: argparse.ArgumentParser) -> None:
    """Append ``(default: X)`` to the help of every option that takes a value and whose help does not state its
    default yet, in ``parser`` and all its subcommands; ``--help`` then shows every default."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                show_defaults(sub)
        elif action.option_strings and action.nargs != 0 and not action.required and "default" not in (action.help or ""):
            value = action.default
            value = "none" if value is None else ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            action.help = f"{action.help} (default: {value})" if action.help else f"(default: {value})"


def class_list(text: str) -> list:
    """'0,1,2' -> [0, 1, 2]; names stay strings."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [int(t) if t.lstrip("-").isdigit() else t for t in items]


def named_models(values: list[str]) -> dict[str, str | None]:
    """``--model`` values (``[NAME=]PATH`` or 'euclidean') as name -> path (None: Euclidean on pixels); an unnamed
    path is named after its folder (a run folder, or the folder holding the model file)."""
    models: dict[str, str | None] = {}
    for value in values:
        name, _, path = value.partition("=") if "=" in value else ("", "", value)
        path = None if path == "euclidean" else path
        if not name:
            name = "euclidean (pixels)" if path is None else (Path(path).name if Path(path).is_dir() else Path(path).parent.name or Path(path).stem)
        if name in models:
            raise ValueError(f"two --model values are both named {name!r}; name them with NAME=PATH.")
        models[name] = path
    return models


def emit(args: argparse.Namespace, results: Any, text: str | None = None, *, path: str | Path | None = None,
         notes: Sequence[str] = ()) -> None:
    """Print ``results`` as JSON with --json; else ``text``, or, for a tagged result, its report sections as plain text
    (the same sections BENCHMARKS.md and ``metrickit report`` show; ``path``: where the result is written), then ``notes``."""
    if args.json:
        json.dump(results, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if text is None:
        from metrickit.reporting import result_text

        text = result_text(results, path)
    print("\n".join([text, *notes]))
