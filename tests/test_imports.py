import subprocess
import sys


def test_linear_and_distances_never_import_torch_or_faiss():
    code = (
        "import sys\nimport metrickit.linear, metrickit.distances, metrickit.datasets, metrickit.demo\n"
        "from metrickit.linear import LMNN\nimport numpy as np\n"
        "LMNN(max_iter=5).fit(np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2)\n"
        "print(sorted(m for m in ('torch', 'faiss') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_index_tuples_are_public_where_miners_and_losses_live():
    from metrickit import _types, losses, miners

    for module in (losses, miners):
        assert module.TripletIndices is _types.TripletIndices and module.PairIndices is _types.PairIndices
        assert {"TripletIndices", "PairIndices"} <= set(module.__all__)
