import json
from pathlib import Path

import pytest
from PIL import Image

from metrickit.cli.app import main
from metrickit.reporting import build_report, collect_results
from metrickit.reporting.document import Bullets, Document, Paragraph, Section, Table, to_html, to_markdown
from metrickit.reporting.document import Image as Figure
from metrickit.reporting.sections import classify
from metrickit.runs import KINDS

BENCH_RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_markdown_and_html_render_every_block_and_escape_text(tmp_path):
    doc = Document("T", [Paragraph("intro with `code` & <tag>")], [
        Section("S <1>", [Bullets(["a", "b"]), Table(["x", "y"], [["1", "2"]]), Figure(tmp_path / "p.png", "a plot")])])
    markdown = to_markdown(doc, lambda p: f"img/{p.name}")
    assert "# T" in markdown and "## S <1>" in markdown and "- a\n- b" in markdown
    assert "| x | y |\n|---|---|\n| 1 | 2 |" in markdown and "![a plot](img/p.png)" in markdown
    page = to_html(doc, lambda p: f"img/{p.name}")
    assert "<code>code</code> &amp; &lt;tag&gt;" in page and "<th>x</th>" in page and '<img src="img/p.png"' in page
    assert "S &lt;1&gt;" in page and page.startswith("<!DOCTYPE html>")


def test_results_are_dispatched_on_their_kind_and_others_are_listed_with_the_reason(tmp_path):
    assert classify({"kind": "verify-benchmark"}) == "verify-benchmark" and classify({"kind": "lmnn"}) == "lmnn"
    assert classify({"episodes": [], "methods": {}}) is None  # untagged: no guessing from the keys
    assert classify([1, 2]) is None and classify({"kind": "nonsense"}) is None
    (tmp_path / "other.json").write_text(json.dumps({"something": "else"}))
    (tmp_path / "old.json").write_text(json.dumps({"benchmark": "lmnn", "config": {}}))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(FileNotFoundError, match="no result files under"):
        build_report([tmp_path])
    found, skipped = collect_results([BENCH_RESULTS, tmp_path])
    assert {p.name: why.split(":")[0] for p, why in skipped} == {"broken.json": "not readable JSON", "other.json": "not a metrickit result",
                                                                 "old.json": "untagged"}
    kinds = [kind for kind, _, _ in found]
    assert kinds == sorted(kinds, key=KINDS.index) and all(record["schema_version"] == 1 for _, record, _ in found)
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        collect_results([tmp_path / "nowhere"])


def test_report_command_gathers_benchmarks_and_runs_into_markdown_html_and_images(tmp_path, capsys):
    run = tmp_path / "runs" / "demo-run"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps({"kind": "demo", "schema_version": 1, "euclidean_error": 0.02, "lmnn_error": 0.01,
                                                  "n_train": 1257, "n_test": 540, "split": {"seed": 0}, "objective": 12.5, "n_iter": 30,
                                                  "fit_seconds": 1.5, "unseen_classes": {}}))
    Image.new("RGB", (4, 4)).save(run / "projection.png")
    out = tmp_path / "report"
    assert main(["report", str(BENCH_RESULTS), str(tmp_path / "runs"), "--out", str(out), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert "Demo: demo-run" in results["sections"] and any(s.startswith("LMNN: iris") for s in results["sections"])
    markdown = (out / "report.md").read_text()
    assert "| Euclidean | 2.00% | - |" in markdown and "| LMNN | 1.00% | 1.5 |" in markdown and "](images/" in markdown
    assert (out / "report.html").read_text().count("<h2") == len(results["sections"])
    assert any(p.name.endswith("projection.png") for p in (out / "images").iterdir())
    assert main(["report", str(BENCH_RESULTS), "--out", str(out)]) == 1  # never overwrites without --overwrite
    assert "already exists and is not empty" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["mnist", "omniglot", "reid"])
def test_the_loss_comparison_section_ranks_losses_and_says_which_are_within_noise(task):
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    metric = {"mnist": "map_at_r", "omniglot": "accuracy_5w1s", "reid": "map"}[task]
    metrics = {"mnist": [metric, "precision_at_1"], "omniglot": [metric], "reid": [metric, "rank1"]}[task]

    def row(mean, sd, difference, se, within):
        stat = {"mean": mean, "sd": sd}
        return {"candidates": {"margin 0.2": {"settings": {"margin": 0.2}, "val": 0.6, "best_epoch": 2}}, "chosen": "margin 0.2", "epochs": 2,
                "summary": {m: stat for m in metrics}, "versus_best": {"difference": difference, "se": se, "within_noise": within}}

    budget = {"mnist": {"architecture": "conv4", "embedding_dim": 64, "epochs": 5, "batches_per_epoch": 100, "n_classes_per_batch": 3,
                        "n_per_class": 32},
              "omniglot": {"n_way": 20, "n_shot": 5, "n_query": 5, "epochs": 5, "batches_per_epoch": 60},
              "reid": {"epochs": 20, "batches_per_epoch": 20}}[task]
    record = tagged("loss-comparison", {
        "task": task, "metric": metric, "metrics": metrics, "val_metric": "score", "budget": budget,
        "test_episodes": {"n_way": 5, "n_shot": 1, "n_query": 15, "n_episodes": 1000},
        "classes": {"fit": [0, 1, 2], "val": [3, 4], "final": [0, 1, 2, 3, 4], "test": [5, 6, 7, 8, 9]}, "seeds": [0, 1, 2], "best": "arcface",
        "losses": {"triplet": row(0.50, 0.01, -0.03, 0.01, False), "arcface": row(0.53, 0.01, 0.0, 0.0, True),
                   "supcon": row(0.52, 0.02, -0.01, 0.013, True)},
        "pixels": {metric: 0.36, "precision_at_1": 0.97, "rank1": 0.5}})
    text = result_text(record)
    lines = [line for line in text.splitlines() if line.startswith(("arcface", "supcon", "triplet", "Euclidean"))]
    assert [line.split()[0] for line in lines] == ["arcface", "supcon", "triplet", "Euclidean"]  # best first, pixels last
    assert lines[1].rstrip().endswith("yes") and lines[2].rstrip().endswith("no") and "best" in lines[0]
    assert ("5-way 1-shot" in text) == (task == "omniglot") and ("persons" in text) == (task == "reid")


def test_a_result_printed_without_a_folder_or_provenance_shows_neither():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    stat = {"mean": 0.9, "sd": 0.0}
    summary = {k: stat for k in ("roc_auc", "eer", "accuracy", "balanced_accuracy")} | {"tar_at_far": {"1%": stat}}
    text = result_text(tagged("verify-eval", {"dataset": "orl", "methods": {"run": {"summary": summary}}}))
    assert text.splitlines()[0] == "Verification: orl"
    assert "None" not in text and "command" not in text


def test_the_ddp_section_shows_scaling_and_how_far_each_implementation_is_from_one_process():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    cell = lambda seconds: {"status": "ok", "median_step_seconds": seconds}  # noqa: E731
    record = tagged("ddp-scaling", {
        "model": "conv-4", "steps": 10, "rounds": 2, "threads_per_process": 1,
        "timing": [{"impl": "metrickit", "global_batch": 1024, "one": cell(2.0), "two": cell(1.1), "speedup": 2.0 / 1.1,
                    "efficiency": 2.0 / 2.2, "bytes_sent_per_step": 2**20},
                   {"impl": "pml", "global_batch": 1024, "one": cell(2.5), "two": {"status": "timeout after 600 s"}}],
        "checks": [{"status": "ok", "impl": "pml", "loss": "arcface", "global_batch": 256, "loss_ratio": 2.0,
                    "gradient_relative_difference": 1e-12, "head_gradient_ratio": 2.0}, {"status": "failed: boom"}]})
    text = result_text(record)
    assert "1.82x" in text and "91%" in text and "1.00" in text and "timeout after 600 s" in text
    assert "2.000000" in text and "1.0e-12" in text and "failed: boom" in text


def test_the_index_section_reports_recall_speed_memory_and_overhead():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    row = lambda kind, qps, size: {"kind": kind, "factory": kind.upper(), "build_seconds": 1.0, "index_bytes": size,  # noqa: E731
                                   "effort": None if kind == "flat" else 8, "effort_name": None if kind == "flat" else "nprobe",
                                   "recall_at_1": 0.99, "recall_at_10": 0.97, "qps_batch_1": qps, "qps_batch_1000": qps * 10,
                                   "overhead_batch_1": 0.02, "overhead_batch_1000": -0.01, "speedup_vs_flat_batch_1": qps / 100,
                                   "speedup_vs_flat_batch_1000": qps / 100, "memory_vs_flat": size / 2**30}
    record = tagged("index-search", {"gallery": {"n": 1_000_000, "dim": 128, "clusters": 10_000, "spread": 0.5, "generator": "g"},
                                     "queries": {"validation": 2000, "test": 10000}, "target": 0.95, "threads": 2,
                                     "top10_crossing_clusters": 0.25, "rows": [row("flat", 100, 2**30), row("ivf", 3000, 2**30)]})
    text = result_text(record)
    assert "1,000,000 x 128" in text and "25% of the" in text and "nprobe 8" in text and "30.0x / 30.0x" in text and "+2.0% / -1.0%" in text


def test_the_index_section_describes_a_trained_models_mnist_gallery():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    row = {"kind": "flat", "factory": "Flat", "build_seconds": 0.1, "index_bytes": 2**20, "effort": None, "effort_name": None,
           "recall_at_1": 1.0, "recall_at_10": 1.0, "qps_batch_1": 900.0, "qps_batch_1000": 9000.0, "overhead_batch_1": 0.01,
           "overhead_batch_1000": 0.0}
    gallery = {"source": "mnist", "n": 58_000, "dim": 128, "normalized": True, "generator": "g",
               "model": {"path": "runs/m/model.safetensors", "sha256": "ab" * 32, "name": "conv4", "training_classes": [0, 1, 2, 3, 4]}}
    record = tagged("index-search", {"gallery": gallery, "queries": {"validation": 2000, "test": 10000}, "target": 0.95, "threads": 2,
                                     "top10_crossing_groups": 0.03, "rows": [row]})
    record["streaming_builds"] = {"shards": 4, "gallery_bytes": 512 * 2**20, "imports_peak_rss_bytes": 80 * 2**20,
                                  "rows": [{"kind": "flat", "index_bytes": 520 * 2**20, "peak_rss_bytes": 700 * 2**20,
                                            "budget_bytes": 1544 * 2**20, "within_budget": True, "seconds": 12.0}]}
    text = " ".join(result_text(record).split())  # the paragraph is wrapped
    assert "Streaming index builds" in text and "4 memory-mapped .npy shards" in text and "flat 520 700 1,544 yes 12.0" in text
    assert "58,000 MNIST embeddings (128-d)" in text and "digits 0, 1, 2, 3, 4" in text and "inner product" in text
    assert "more than one digit for 3% of the test queries" in text and "abababababab" in text


def test_a_run_of_the_streaming_builds_alone_is_shown_with_its_own_gallery_and_no_empty_search_table():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    record = tagged("index-search", {"gallery": {"n": 1_000_000, "dim": 128, "clusters": 10_000, "spread": 1.25, "generator": "g"},
                                     "queries": {"validation": 2000, "test": 10000}, "target": 0.95, "threads": 2,
                                     "top10_crossing_groups": 0.25, "rows": []})
    record["streaming_builds"] = {"shards": 4, "gallery_bytes": 488 * 2**20, "imports_peak_rss_bytes": 29 * 2**20,
                                  "rows": [{"kind": "ivfpq", "index_bytes": 46 * 2**20, "peak_rss_bytes": 600 * 2**20,
                                            "budget_bytes": 1070 * 2**20, "within_budget": True, "seconds": 180.0}]}
    text = " ".join(result_text(record).split())
    assert "Streaming index builds: peak memory (1,000,000 x 128 embeddings, a run of its own)" in text
    assert "Gallery: 1,000,000 x 128 embeddings: a mixture of 10,000 Gaussian clusters" in text
    assert "shards of the gallery (488 MiB" in text and "ivfpq 46 600 1,070 yes 180.0" in text
    assert "recall@1" not in text and "Search:" not in text


def test_the_signature_section_reports_both_forgery_kinds_the_global_threshold_and_the_library_choice():
    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    summary = {"eer_skilled": {"mean": 0.0372, "sd": 0.0287}, "eer_random": {"mean": 0.0, "sd": 0.0}, "global_frr": 0.103,
               "global_far_skilled": 0.1032, "global_far_random": 0.0}
    record = tagged("signature-online", {
        "dataset": "svc2004_online (Task 2, users 1-30)", "trials": 10, "seed": 0, "window": 20, "threads": 1, "folds": "users 1-10, ...",
        "competition": {"task1_best_skilled_eer": 0.0284, "task2_best_skilled_eer": 0.0289, "source": "Yeung et al."},
        "rows": [{"method": "dtw", "summary": summary, "protocol_seconds": 11.8, "seconds_per_verification": 0.00051, "folds": []},
                 {"method": "dtw-lmnn", "summary": summary, "protocol_seconds": 90.0, "seconds_per_verification": 0.0006,
                  "folds": [{"chosen": "full M, mu 0.9"}, {"chosen": "diagonal M, mu 0.9"}],
                  "vs_dtw_skilled": {"mean": -0.0117, "se_over_folds": 0.004, "per_fold": []}}],
        "libraries": {"pairs": 400, "dtaidistance_seconds_per_pair": 52e-6, "tslearn_seconds_per_pair": 414e-6, "speedup": 7.9,
                      "max_abs_difference": 0.0, "tslearn_version": "0.10.0", "tslearn_status": "ok"}})
    text = " ".join(result_text(record).split())
    assert "DTW on per-point features 3.72% ± 2.87% 0.00% ± 0.00% 10.30% / 10.32% / 0.00% - - 0.51 11.8" in text
    assert "-1.17 ± 0.40 points full M, mu 0.9, diagonal M, mu 0.9 0.60 90.0" in text
    assert "2.89% (Task 2)" in text and "52 µs vs 414 µs a pair (7.9x)" in text
