"""``python -m metrickit``: the command-line tool."""

from metrickit.cli.app import main

if __name__ == "__main__":
    raise SystemExit(main())
