"""Reliability checks: concurrency, isolation, secrets, faults and crashes, run against the real core.

Each module is a shared driver: the tests run it at small N to catch regressions, and
``bench/reliability.py`` runs the same code at large N to report the figures.
"""
