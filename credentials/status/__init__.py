"""Credential status: W3C Bitstring Status Lists, issued, anchored on chain and checked.

https://www.w3.org/TR/vc-bitstring-status-list/: :mod:`.bitstring` (the bitstring,
its encoding, entries and list credentials; pure), :mod:`.allocation` (random
indexes), :mod:`.models` (the tables), :mod:`.service` (the issuer side: entries,
status changes, publishing), :mod:`.anchor` (each version published in the
StatusListRegistry contract), :mod:`.mirror` (the chain as a mirror of every list)
and :mod:`.check` (the verifier side, each version checked on chain).
"""
