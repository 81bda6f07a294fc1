"""Training on several processes with torch.distributed (torchrun + DistributedDataParallel).

Every rank draws the same global batch as one process would and embeds its contiguous part; the parts are gathered
(keeping each rank's gradient) so that losses and miners see the global batch; BatchNorm statistics are reduced over
all ranks. A run on N processes therefore takes the steps one process takes on the same batches. Names load on first
use, so ``metrickit.distributed.context`` (which the CLI reads) imports without torch.
"""

from metrickit._lazy import lazy_attributes

_HOMES = {"DistributedBatchNorm": "batchnorm", "to_distributed_batchnorm": "batchnorm", "to_plain_batchnorm": "batchnorm",
          "World": "context", "init_from_environment": "context", "launched": "context", "on_main": "context", "shutdown": "context",
          "sync_batchnorm": "context", "world": "context", "all_sum": "gather", "gather_batch": "gather", "gather_rows": "gather",
          "embed_sharded": "sharding", "sharded_evaluation": "sharding"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
