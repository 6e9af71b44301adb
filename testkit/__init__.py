"""Support shared by the tests and the benchmarks: samples, builders and waiting.

``tests/`` and ``bench/`` both import this package and never each other: a sample
credential, a notary on an embedded chain, an app served over real HTTP, and
:func:`~testkit.waiting.wait_until`, the one way either waits for something to happen.
"""
