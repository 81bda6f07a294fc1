"""Progress bars that suit where they are shown: live on a terminal; in a log (stderr not a terminal), at most one
update per 10 s, so a captured run holds a few lines rather than thousands of redraws."""

from __future__ import annotations

import sys
from typing import Any, Iterable

__all__ = ["progress"]

LOG_INTERVAL = 10.0  # seconds between updates when stderr is not a terminal


def progress(iterable: Iterable | None = None, *, quiet: bool = False, **options: Any):
    """A tqdm bar over ``iterable`` (``options``: tqdm's ``desc``, ``unit``, ``total``, ``leave``); none when ``quiet``."""
    from tqdm.auto import tqdm

    if hasattr(sys.stderr, "isatty") and sys.stderr.isatty():
        return tqdm(iterable, disable=quiet, **options)

    class LogBar(tqdm):
        """Postfix changes wait for the next timed update instead of forcing one."""

        def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
            super().set_postfix(ordered_dict, refresh=False, **kwargs)

    options = {**options, "mininterval": LOG_INTERVAL, "maxinterval": max(LOG_INTERVAL, options.get("maxinterval", 0)), "ascii": True}
    return LogBar(iterable, disable=quiet, **options)
