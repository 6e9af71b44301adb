"""Verifiable public draws (摇号抽奖), algorithm ``notary-hub-draw/1`` (``docs/draw-algorithm.md``).

The pure core: the configuration (§1, :mod:`~evidence.draw.config`), candidate lists
(§2: :mod:`~evidence.draw.entrants`, :mod:`~evidence.draw.rows`,
:mod:`~evidence.draw.candidates`, :mod:`~evidence.draw.receipt`), the seed (§3-§4.1,
:mod:`~evidence.draw.seed`), keys (§4.2, :mod:`~evidence.draw.keys`), selection
(§4.3-4.4, :mod:`~evidence.draw.selection`), the result (§5, :mod:`~evidence.draw.result`),
the export and its verification (§6, :mod:`~evidence.draw.export`,
:mod:`~evidence.draw.verify`). None of it touches a database, the network or the clock.
"""
