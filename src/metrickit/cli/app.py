"""The ``metrickit`` parser and entry point. Each command group lives in its own module (``cli/<group>.py``): it
declares its options and holds its commands, each of which parses nothing, calls one library function and prints.
Nothing here imports torch, so ``--help`` is fast; commands import what they need when they run."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from typing import Sequence

from metrickit.cli import deep, demo, export, fewshot, index, lmnn, reid, report, verify
from metrickit.cli._options import show_defaults

__all__ = ["GROUPS", "build_parser", "main"]

PROG = "metrickit"
GROUPS = (demo, lmnn, deep, fewshot, verify, reid, index, export, report)  # in the order `metrickit --help` lists them
EXTRAS = {"torch": "torch", "safetensors": "torch", "yaml": "torch", "faiss": "faiss", "onnx": "export", "onnxruntime": "export",
          "onnxscript": "export"}  # a missing module -> the extra that has it


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every group's commands, every option's default shown in its help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Learn distance functions from data. Commands follow `metrickit GROUP VERB`.",
        epilog="Run `metrickit demo` for the main job; `metrickit GROUP VERB --help` for each command.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    for group in GROUPS:
        group.register(groups)
    show_defaults(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line to stderr and return 1 (``--debug`` raises instead)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from metrickit import __version__

        print(f"{PROG} {__version__}")
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        (parser if args.group is None else parser._subparsers._group_actions[0].choices[args.group]).print_help()
        return 2
    from metrickit.distributed.context import launched

    rank = ""
    try:
        from metrickit._threads import threads_limited

        if args.threads is not None and args.threads < 1:
            raise ValueError(f"`--threads` must be >= 1; got {args.threads}.")
        if launched():  # one of torchrun's processes: join the group; only rank 0 shows progress and writes
            from metrickit.distributed import init_from_environment

            here = init_from_environment(args.threads, sync_batchnorm=getattr(args, "sync_bn", True))
            rank = "" if here.is_main else f" (rank {here.rank})"
            args.quiet = args.quiet or not here.is_main
        with threads_limited(args.threads), (contextlib.redirect_stdout(io.StringIO()) if rank else contextlib.nullcontext()):
            return int(handler(args) or 0)  # only rank 0 prints results
    except ModuleNotFoundError as exc:
        if getattr(args, "debug", False) or exc.name not in EXTRAS:
            raise
        print(f"{PROG}: error: `{' '.join(filter(None, (args.group, getattr(args, 'verb', None))))}` needs the {EXTRAS[exc.name]} "
              f"extra: pip install 'metrickit[{EXTRAS[exc.name]}]' (missing module {exc.name!r}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place that turns exceptions into an exit code
        if getattr(args, "debug", False):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{PROG}: error{rank}: {message}", file=sys.stderr)
        return 1
    finally:
        if launched():
            from metrickit.distributed import shutdown

            shutdown()
