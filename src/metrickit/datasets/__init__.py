"""Dataset loaders: bundled tables, bring-your-own feature files, and the shared real datasets."""

from metrickit.datasets.identities import load_identities, load_orl, load_svc2004
from metrickit.datasets.mnist import load_mnist
from metrickit.datasets.omniglot import load_omniglot
from metrickit.datasets.paths import dataset_dir, default_data_dir
from metrickit.datasets.splits import DataSplit, load_split, stratified_subsample
from metrickit.datasets.tabular import BUNDLED, load_bundled, load_features, load_labels

__all__ = ["BUNDLED", "DataSplit", "load_identities", "load_orl", "load_svc2004", "load_split", "stratified_subsample", "dataset_dir", "default_data_dir", "load_bundled", "load_features", "load_labels", "load_mnist", "load_omniglot"]
