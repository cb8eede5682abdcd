"""scripts/bench-compare as a package: options, scenarios, targets, runner, report and chart.

The entry point is scripts/bench-compare (``benchcompare.cli.main``); docs/benchmarks.md describes
what it measures and how to read its tables.
"""
