"""The deposit service (存证): files or digests in, custody letters (``DataDepositCredential``) out.

A deposit is received (:mod:`evidence.deposit.service`, :mod:`evidence.deposit.router`),
then moved by the pipeline's stages (:mod:`evidence.deposit.pipeline`): timestamped,
anchored, certified with a custody letter (:mod:`evidence.deposit.letter`).
"""
