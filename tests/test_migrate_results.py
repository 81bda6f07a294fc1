"""scripts/migrate_results.py brings older result records to the current format."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "migrate_results.py"


def _script():
    spec = importlib.util.spec_from_file_location("migrate_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_flat_config_is_nested_without_the_settings_its_loss_does_not_have():
    from metrickit.fewshot.config import FewShotConfig

    migrate = _script()
    nested = migrate._nest({"method": "protonet", "margin": 0.2, "episodes_per_epoch": 100, "threads": 2}, FewShotConfig,
                           migrate.RENAMES["fewshot"])
    assert nested["objective"]["loss"] == "protonet" and nested["objective"]["margin"] is None
    assert nested["loop"]["batches_per_epoch"] == 100
    kept = migrate._nest({"method": "triplet", "margin": 0.3, "miner": "hard"}, FewShotConfig, migrate.RENAMES["fewshot"])
    assert (kept["objective"]["margin"], kept["objective"]["miner"]) == (0.3, "hard")
