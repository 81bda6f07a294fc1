"""``metrickit export --format onnx``: a deep embedder (through torch's exporter) or a linear metric (one affine map)
as an ONNX graph with a dynamic batch dimension, its preprocessing in the metadata, checked against onnxruntime."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from metrickit.models.onnx_model import METADATA_KEY

__all__ = ["export_onnx"]

INPUT = "inputs"


def export_onnx(model_path: str | os.PathLike, out: str | os.PathLike, *, overwrite: bool = False, tolerance: float = 1e-4,
                seed: int = 0) -> dict[str, Any]:
    """Write the model at ``model_path`` to ``out`` (.onnx, atomically) and compare onnxruntime's embeddings with the
    model's own on seeded random prepared inputs; a difference above ``tolerance`` is an error (nothing is written)."""
    try:
        import onnx
    except ImportError as error:
        from metrickit.exceptions import MissingDependencyError

        raise MissingDependencyError('ONNX export needs onnx, onnxscript and onnxruntime: pip install "metrickit[export]"') from error
    from metrickit._io import atomic_path, check_can_write
    from metrickit.models.base import load_model
    from metrickit.models.onnx_model import load_onnx_model

    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"`out` must end in .onnx; got {out}.")
    check_can_write(out, overwrite=overwrite)
    model = load_model(model_path)
    shape = tuple(model.preprocessing.shape)
    graph = _linear_graph(model) if hasattr(model, "components") else _deep_graph(model, shape)
    header = {"preprocessing": model.preprocessing.as_dict(), "threshold": model.threshold,
              "training_classes": [c.item() if isinstance(c, np.generic) else c for c in model.training_classes],
              "info": {**{k: v for k, v in model.info.items() if k in ("method", "estimator", "config", "best_epoch")},
                       "architecture": model.name, "source": str(model_path)}}
    onnx.helper.set_model_props(graph, {METADATA_KEY: json.dumps(header, default=str)})
    inputs = np.random.default_rng(seed).normal(size=(8, *shape)).astype(np.float32)
    expected = np.asarray(model.embed_prepared(inputs), dtype=np.float64)
    with atomic_path(out, overwrite=overwrite) as tmp:
        onnx.save(graph, str(tmp))
        exported = load_onnx_model(tmp)
        difference = float(np.abs(exported.embed_prepared(inputs).astype(np.float64) - expected).max())
        if not difference <= tolerance:
            raise ValueError(f"the ONNX model differs from the source by {difference:.2e} (more than {tolerance:g}); nothing was written.")
    return {"out": str(out), "model": str(model_path), "architecture": model.name, "input_shape": ["batch", *shape],
            "embedding_dim": int(expected.shape[1]), "max_abs_difference": difference, "opset": graph.opset_import[0].version}


def _deep_graph(model, shape: tuple[int, ...]):
    """torch's (dynamo) exporter on the embedder in eval mode, batch dimension dynamic."""
    import torch

    embedder = model.embedder.eval()
    example = torch.zeros((2, *shape))
    program = torch.onnx.export(embedder, (example,), dynamo=True, input_names=[INPUT], output_names=["embeddings"],
                                dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    return program.model_proto


def _linear_graph(model):
    """The linear metric's map on prepared inputs as one affine layer: (x - mean) / scale, projected, then L."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n = model.n_features_in
    weight = np.eye(n)
    bias = np.zeros(n)
    if model.mean is not None:
        bias = bias - model.mean
    if model.scale is not None:
        weight, bias = weight / model.scale, bias / model.scale
    if model.projection is not None:
        weight, bias = weight @ model.projection.T, bias @ model.projection.T
    weight, bias = weight @ model.components.T, bias @ model.components.T
    nodes = [helper.make_node("Flatten", [INPUT], ["flat"], axis=1), helper.make_node("Gemm", ["flat", "W", "b"], ["embeddings"])]
    graph = helper.make_graph(nodes, "metrickit_linear_metric", [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", n])],
                              [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", weight.shape[1]])],
                              [numpy_helper.from_array(weight.astype(np.float32), "W"), numpy_helper.from_array(bias.astype(np.float32), "b")])
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="metrickit")
    onnx.checker.check_model(built)
    return built
