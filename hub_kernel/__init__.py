"""The bottom layer of Notary Hub: what every component builds on.

Errors (:mod:`hub_kernel.errors`), the encrypted key store (:mod:`hub_kernel.keystore`),
the background :class:`~hub_kernel.worker.Worker`, SQL naming conventions
(:mod:`hub_kernel.sql`), the JSON nesting guard (:mod:`hub_kernel.json_guard`) and the
multiformats codecs (:mod:`hub_kernel.multiformats`). The kernel imports nothing from
the components above it.
"""
