"""A draw's public export (``docs/draw-algorithm.md`` §6): a directory of six files.

| file           | contents                                                          |
| -------------- | ----------------------------------------------------------------- |
| config.json    | the JCS bytes of the configuration                                |
| entries.bin    | ``count`` entries of 38 bytes, in order                           |
| beacon.json    | the beacon round used, as a relay serves it                       |
| reveal.json    | ``{"secret": hex, "publicValues": [strings]}``                    |
| result.jsonl   | one ``{"rank", "index", "leaf", "tier"}`` line per result entry    |
| chain.json     | the chain's references and the commitment's RFC 3161 token         |

Each reader parses one file strictly and raises ``ValueError`` saying what is wrong, so
that a verifier can name the step that needed it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.draw.candidates import Buffer, open_entries
from evidence.draw.config import DrawConfig, parse_config_json
from evidence.draw.result import ResultEntry, read_result, write_result
from evidence.draw.seed import SECRET_SIZE

__all__ = [
    "BEACON",
    "CHAIN",
    "CONFIG",
    "ENTRIES",
    "RESULT",
    "REVEAL",
    "Reveal",
    "read_beacon",
    "read_chain",
    "read_config",
    "read_entries",
    "read_result_file",
    "read_reveal",
    "write_export",
]

CONFIG, ENTRIES, BEACON = "config.json", "entries.bin", "beacon.json"
REVEAL, RESULT, CHAIN = "reveal.json", "result.jsonl", "chain.json"
_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True)
class Reveal:
    """What the notary reveals at draw time: the secret and the public values (§3.2, §3.3)."""

    secret: bytes
    public_values: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"secret": self.secret.hex(), "publicValues": list(self.public_values)}

    @classmethod
    def from_json(cls, obj: object) -> Reveal:
        if not isinstance(obj, dict) or set(obj) != {"secret", "publicValues"}:
            raise ValueError("reveal.json must be {'secret', 'publicValues'}")
        secret, values = obj["secret"], obj["publicValues"]
        if (
            not isinstance(secret, str)
            or len(secret) != 2 * SECRET_SIZE
            or not _HEX.fullmatch(secret)
        ):
            raise ValueError(f"the secret must be {SECRET_SIZE} bytes of lowercase hex")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError("publicValues must be an array of strings")
        return cls(bytes.fromhex(secret), tuple(values))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_export(
    directory: Path,
    *,
    config: DrawConfig,
    entries: Path | Buffer,
    beacon: Mapping[str, Any],
    reveal: Reveal,
    result: Iterable[ResultEntry],
    chain: Mapping[str, Any],
) -> None:
    """Write the six files into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG).write_bytes(config.canonical)
    if isinstance(entries, Path):
        shutil.copyfile(entries, directory / ENTRIES)
    else:
        (directory / ENTRIES).write_bytes(entries)
    _write_json(directory / BEACON, dict(beacon))
    _write_json(directory / REVEAL, reveal.to_json())
    with (directory / RESULT).open("wb") as stream:
        write_result(stream, result)
    _write_json(directory / CHAIN, dict(chain))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{path.name} is missing") from None
    except ValueError:
        raise ValueError(f"{path.name} is not JSON") from None


def read_config(directory: Path) -> DrawConfig:
    """``config.json``: a valid configuration in its canonical (JCS) bytes."""
    path = directory / CONFIG
    if not path.is_file():
        raise ValueError(f"{CONFIG} is missing")
    return parse_config_json(path.read_bytes(), canonical=True)


def read_entries(directory: Path) -> Buffer:
    """``entries.bin``, mapped (not read into memory)."""
    path = directory / ENTRIES
    if not path.is_file():
        raise ValueError(f"{ENTRIES} is missing")
    return open_entries(path)


def read_beacon(directory: Path) -> dict[str, Any]:
    """``beacon.json`` as a JSON object (its contents are the beacon verifier's to judge)."""
    beacon = _read_json(directory / BEACON)
    if not isinstance(beacon, dict):
        raise ValueError(f"{BEACON} must be a JSON object")
    return beacon


def read_reveal(directory: Path) -> Reveal:
    return Reveal.from_json(_read_json(directory / REVEAL))


def read_result_file(directory: Path) -> list[ResultEntry]:
    path = directory / RESULT
    if not path.is_file():
        raise ValueError(f"{RESULT} is missing")
    with path.open("rb") as stream:
        return read_result(stream)


def read_chain(directory: Path) -> dict[str, Any]:
    chain = _read_json(directory / CHAIN)
    if not isinstance(chain, dict):
        raise ValueError(f"{CHAIN} must be a JSON object")
    return chain
