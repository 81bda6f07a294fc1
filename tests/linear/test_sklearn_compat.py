import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from metrickit.linear import LMNN


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([LMNN(max_iter=30)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
