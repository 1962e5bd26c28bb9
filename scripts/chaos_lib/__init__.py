"""Fault injection on a real localnet: proxy, bank workload, fault schedule, checks.

``scripts/chaos.py`` is the command line; ``tests/e2e/test_chaos.py`` runs a
short fixed-seed profile of it. See docs/reliability.md for the fault matrix.
"""
