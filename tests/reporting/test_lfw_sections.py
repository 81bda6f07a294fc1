"""The LFW report sections: View 1's choices and the View 2 table, with the paired comparisons."""

from metrickit.reporting import result_text
from metrickit.runs import tagged


def _row(method, setting, accuracies):
    n = len(accuracies)
    mean = sum(accuracies) / n
    se = (sum((a - mean) ** 2 for a in accuracies) / (n - 1)) ** 0.5 / n**0.5
    return {"method": method, "setting": setting, "settings": {"crop": 120}, "minutes_per_fold": 1.5,
            "summary": {"n_folds": n, "accuracy_mean": mean, "accuracy_se": se, "accuracies": accuracies, "roc_auc_mean": 0.9,
                        "eer_mean": 0.15, "tar_at_far_1pct_pooled": 0.2},
            "folds": [{"fold": k + 1, "accuracy": a} for k, a in enumerate(accuracies)]}


def test_view2_table_lists_every_method_the_published_figures_and_the_comparisons():
    record = tagged("lfw-benchmark", {
        "threads": 2, "published": [{"method": "LDML", "setting": "restricted", "accuracy": 0.793, "source": "ICCV 2009"}],
        "rows": [_row("euclidean", "restricted", [0.6, 0.62, 0.64]), _row("arcface", "unrestricted", [0.8, 0.82, 0.81])],
        "comparisons": {"unrestricted": {"best_deep": "arcface/unrestricted", "best_learned": "arcface/unrestricted",
                                         "vs_euclidean": {"mean": 0.19, "se": 0.01}}}})
    text = result_text(record)
    assert "81.00% ± 0.58%" in text and "unsupervised" in text and "79.3% (published)" in text
    assert "best deep metric arcface/unrestricted vs euclidean: +19.00 ± 1.00 points" in text


def test_view1_table_names_each_choice():
    record = tagged("lfw-view1", {"threads": 2, "protocol": "train pairsDevTrain, score pairsDevTest", "rows": [
        {"method": "hog-kissme", "setting": "restricted", "chosen": {"size": 80, "cell": 6}, "chosen_roc_auc": 0.875,
         "tried": [{"settings": {"size": 80, "cell": 6}, "roc_auc": 0.875, "eer": 0.204, "seconds": 30.0},
                   {"settings": {"size": 64, "cell": 8}, "roc_auc": 0.81, "eer": 0.26, "seconds": 20.0}]}]})
    text = result_text(record)
    row = next(line for line in text.splitlines() if line.startswith("hog-kissme"))
    assert row.split()[2:3] == ["2"] and "size 80, cell 6" in row and "0.8750" in row and "20.40%" in row  # the chosen one's EER
    assert row.split()[-1] == "0.8"  # 30 s + 20 s over all candidates, in minutes
