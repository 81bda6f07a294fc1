"""The ``metrickit`` command-line tool (``metrickit GROUP VERB``)."""

__all__ = ["main"]


def main(argv=None) -> int:
    from metrickit.cli.app import main as _main

    return _main(argv)
