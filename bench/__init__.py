"""Benchmarks: scripts run from the repository root (``python bench/<name>.py``), not tests.

They share samples and builders with the tests through :mod:`testkit`.
"""
