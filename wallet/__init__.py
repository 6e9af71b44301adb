"""The holder's wallet: keys, DIDs, credentials and settings kept by the holder, sealed
under a passphrase in one directory (issue 12).

:mod:`wallet.wallet` is the API (:class:`wallet.wallet.Wallet`). Beneath it:
:mod:`wallet.vault` (sealed records and their manifest), :mod:`wallet.header` and
:mod:`wallet.kdf` (the passphrase, Argon2id), :mod:`wallet.lock` (one process at a time),
:mod:`wallet.files` (atomic private writes), :mod:`wallet.recovery` (BIP-39 phrase,
BIP-44 and SLIP-0010 derivation), :mod:`wallet.keys`, :mod:`wallet.credential_store`,
:mod:`wallet.backup`, :mod:`wallet.paths` and :mod:`wallet.errors`; beside them,
:mod:`wallet.presentations` builds the holder's presentations from key objects.
No network, no CLI: ``notary_hub`` wires the commands.
"""
