"""``metrickit export``: a trained metric as an ONNX model that runs without PyTorch (the export extra)."""

from __future__ import annotations

import argparse

from metrickit.cli._options import add_common, add_output, emit

__all__ = ["register"]


def register(groups) -> None:
    export = groups.add_parser("export", help="export a model to ONNX (checked against onnxruntime)", description=(
        "Write a deep embedder (any architecture) or an LMNN model as ONNX with a dynamic batch dimension; its input is "
        "the prepared inputs, and its preprocessing, threshold and training classes are stored in the ONNX metadata, so "
        "`metrickit embed --model model.onnx` works without torch. The command runs onnxruntime on seeded random inputs "
        "and prints the largest difference from the source model; above --tolerance nothing is written."))
    export.add_argument("--model", required=True, metavar="MODEL", help="a .safetensors or LMNN .npz model, or a run folder")
    export.add_argument("--format", default="onnx", choices=("onnx",))
    export.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted absolute difference from the source model")
    add_output(export, "MODEL.onnx", "the ONNX model", required=True)
    add_common(export)
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    from metrickit.models.onnx_export import export_onnx

    results = export_onnx(args.model, args.out, overwrite=args.overwrite, tolerance=args.tolerance)
    emit(args, results, f"wrote {args.out} ({results['architecture']}, input {results['input_shape']}, {results['embedding_dim']}-d, "
                        f"opset {results['opset']}); onnxruntime vs source: max abs difference {results['max_abs_difference']:.2e}")
    return 0
