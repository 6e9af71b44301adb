"""The passphrase KDF: Argon2id (RFC 9106, https://www.rfc-editor.org/rfc/rfc9106).

Why Argon2id rather than scrypt: both are memory-hard, but Argon2id is the RFC 9106
§4 recommendation for password hashing, resists side channels in its first pass and
GPU/ASIC trade-offs in the rest, and ``cryptography`` (>= 44) ships it, so no extra
dependency. The parameters live in the wallet's plaintext header (never in code
alone), so a wallet created today opens after the defaults are raised.

:data:`DEFAULT_KDF` takes about 0.3 s and 128 MiB on a 2-core server, above
:data:`MINIMUM_KDF`, RFC 9106 §4's second recommended option (64 MiB, t=3, p=4).
Lighter parameters are accepted only when a caller passes them explicitly (tests do);
no setting or environment variable lowers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from wallet.errors import CorruptWallet, WeakPassphrase

__all__ = ["DEFAULT_KDF", "KEY_SIZE", "MINIMUM_KDF", "SALT_SIZE", "KdfParams"]

KEY_SIZE = 32  # AES-256
SALT_SIZE = 16  # RFC 9106 §3.1: 128 bits is sufficient for password hashing
ALGORITHM = "argon2id"
# Bounds for a header read from disk: a garbled header must not ask for terabytes.
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_ITERATIONS = 64
_MAX_LANES = 64


@dataclass(frozen=True)
class KdfParams:
    memory_cost: int  # KiB
    iterations: int
    lanes: int

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """The 32-byte key-encryption key for ``passphrase``; an empty one is refused."""
        if not passphrase:
            raise WeakPassphrase("the passphrase is empty")
        kdf = Argon2id(
            salt=salt,
            length=KEY_SIZE,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_cost,
        )
        return kdf.derive(passphrase.encode())

    def meets(self, floor: KdfParams) -> bool:
        """Whether every cost is at least ``floor``'s."""
        return (
            self.memory_cost >= floor.memory_cost
            and self.iterations >= floor.iterations
            and self.lanes >= floor.lanes
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM,
            "memory_cost": self.memory_cost,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> KdfParams:
        """Parameters read from ``where``; :class:`CorruptWallet` unless sane Argon2id ones."""
        if not isinstance(value, dict) or value.get("algorithm") != ALGORITHM:
            raise CorruptWallet(f"{where}: the KDF is not {ALGORITHM}")
        memory = _bounded(value.get("memory_cost"), _MAX_MEMORY_KIB, where)
        iterations = _bounded(value.get("iterations"), _MAX_ITERATIONS, where)
        lanes = _bounded(value.get("lanes"), _MAX_LANES, where)
        if memory < 8 * lanes:  # RFC 9106 §3.1: m >= 8 * p
            raise CorruptWallet(f"{where}: KDF parameters out of range")
        return cls(memory, iterations, lanes)


def _bounded(value: object, top: int, where: str) -> int:
    if type(value) is not int or not 1 <= value <= top:
        raise CorruptWallet(f"{where}: KDF parameters out of range")
    return value


DEFAULT_KDF = KdfParams(memory_cost=128 * 1024, iterations=4, lanes=4)
MINIMUM_KDF = KdfParams(memory_cost=64 * 1024, iterations=3, lanes=4)
