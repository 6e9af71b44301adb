"""Key stores: one contract for every implementation, then file-specific checks."""

from __future__ import annotations

import abc
import base64
import json
import os
import stat
from pathlib import Path

import pytest

from hub_kernel.keystore import (
    FileKeyStore,
    InvalidKeyName,
    InvalidMasterKey,
    KeyDecryptionFailed,
    KeyExists,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    MemoryKeyStore,
    load_master_key,
)

MASTER = bytes(range(32))
SECRET = b"\x5e" * 7 + b"node-key-secret-material" + b"\xa5"


class KeyStoreContract(abc.ABC):
    """Behaviour every :class:`KeyStore` must have; subclasses supply ``make_store``."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> KeyStore:
        return self.make_store(tmp_path)

    @abc.abstractmethod
    def make_store(self, tmp_path: Path) -> KeyStore: ...

    def test_is_a_key_store(self, store: KeyStore) -> None:
        assert isinstance(store, KeyStore)

    def test_put_get(self, store: KeyStore) -> None:
        store.put("node", SECRET, kind="secp256k1")
        assert store.get("node") == SECRET
        assert store.exists("node")
        assert not store.exists("other")

    def test_overwrite_refused(self, store: KeyStore) -> None:
        store.put("node", SECRET, kind="secp256k1")
        with pytest.raises(KeyExists) as info:
            store.put("node", b"another", kind="secp256k1")
        assert info.value.status_code == 409
        assert store.get("node") == SECRET

    def test_replace(self, store: KeyStore) -> None:
        store.put("node", SECRET, kind="secp256k1")
        store.put("node", b"rotated", kind="secp256k1", replace=True)
        assert store.get("node") == b"rotated"
        store.put("fresh", b"first", kind="ed25519", replace=True)
        assert store.get("fresh") == b"first"

    def test_names(self, store: KeyStore) -> None:
        assert store.names() == []
        for name in ("did-b", "did-a", "node.v2", "0_x"):
            store.put(name, SECRET, kind="ed25519")
        assert store.names() == ["0_x", "did-a", "did-b", "node.v2"]

    def test_delete(self, store: KeyStore) -> None:
        store.put("node", SECRET, kind="secp256k1")
        store.delete("node")
        assert not store.exists("node")
        assert store.names() == []
        with pytest.raises(KeyNotFound):
            store.delete("node")
        store.put("node", b"again", kind="secp256k1")
        assert store.get("node") == b"again"

    def test_missing(self, store: KeyStore) -> None:
        with pytest.raises(KeyNotFound) as info:
            store.get("absent")
        assert info.value.code == "key_not_found"
        assert info.value.status_code == 404
        assert isinstance(info.value, KeyStoreError)

    @pytest.mark.parametrize(
        "name",
        ["", "Node", ".hidden", "-x", "_x", "../x", "a/b", "a\\b", "..", "a\nb", "node\n",
         "a" * 65, "a b", "é", "a\0b"],
    )  # fmt: skip
    def test_invalid_names(self, store: KeyStore, name: str) -> None:
        with pytest.raises(InvalidKeyName) as info:
            store.put(name, SECRET, kind="ed25519")
        assert info.value.status_code == 400
        for call in (store.get, store.exists, store.delete):
            with pytest.raises(InvalidKeyName):
                call(name)

    def test_longest_name(self, store: KeyStore) -> None:
        name = "a" * 64
        store.put(name, SECRET, kind="x25519")
        assert store.get(name) == SECRET

    def test_bad_kind_or_secret(self, store: KeyStore) -> None:
        for kind in ("", "Ed25519", "a\0b", "k" * 33):
            with pytest.raises(ValueError):
                store.put("k", SECRET, kind=kind)
        with pytest.raises(ValueError):
            store.put("k", b"", kind="ed25519")
        assert not store.exists("k")

    def test_repr_hides_secrets(self, store: KeyStore) -> None:
        store.put("node", SECRET, kind="secp256k1")
        text = repr(store)
        assert SECRET.hex() not in text
        assert repr(SECRET) not in text
        assert MASTER.hex() not in text
        assert repr(MASTER) not in text


class TestMemoryKeyStore(KeyStoreContract):
    def make_store(self, tmp_path: Path) -> KeyStore:
        return MemoryKeyStore()


class TestFileKeyStore(KeyStoreContract):
    def make_store(self, tmp_path: Path) -> KeyStore:
        return FileKeyStore(tmp_path / "keys", MASTER)

    def test_permissions(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path / "keys", MASTER)
        store.put("node", SECRET, kind="secp256k1")
        assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
        files = list((tmp_path / "keys").iterdir())
        assert [f.name for f in files] == ["node.key.json"]  # no temporary files left
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600

    def test_refused_overwrite_leaves_no_temporary_file(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        with pytest.raises(KeyExists):
            store.put("node", b"another", kind="secp256k1")
        assert [f.name for f in tmp_path.iterdir()] == ["node.key.json"]

    def test_existing_loose_directory_is_tightened(self, tmp_path: Path) -> None:
        loose = tmp_path / "loose"
        loose.mkdir(mode=0o755)
        os.chmod(loose, 0o755)
        FileKeyStore(loose, MASTER)
        assert stat.S_IMODE(loose.stat().st_mode) == 0o700

    def test_envelope_holds_only_ciphertext(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        raw = (tmp_path / "node.key.json").read_bytes()
        for form in (SECRET, SECRET.hex().encode(), base64.b64encode(SECRET), MASTER):
            assert form not in raw
        envelope = json.loads(raw)
        assert envelope["version"] == 1
        assert envelope["kind"] == "secp256k1"
        assert len(base64.b64decode(envelope["nonce"])) == 12
        assert len(base64.b64decode(envelope["ciphertext"])) == len(SECRET) + 16

    def test_nonces_are_fresh(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("a", SECRET, kind="ed25519")
        store.put("b", SECRET, kind="ed25519")
        a, b = (json.loads((tmp_path / f"{n}.key.json").read_bytes()) for n in "ab")
        assert a["nonce"] != b["nonce"]
        assert a["ciphertext"] != b["ciphertext"]

    def test_survives_reopening(self, tmp_path: Path) -> None:
        FileKeyStore(tmp_path, MASTER).put("node", SECRET, kind="secp256k1")
        assert FileKeyStore(tmp_path, MASTER).get("node") == SECRET

    def test_wrong_master_key(self, tmp_path: Path) -> None:
        FileKeyStore(tmp_path, MASTER).put("node", SECRET, kind="secp256k1")
        with pytest.raises(KeyDecryptionFailed) as info:
            FileKeyStore(tmp_path, bytes(32)).get("node")
        assert info.value.code == "key_decryption_failed"
        assert info.value.status_code == 500

    def test_renamed_file_fails(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        store.put("did-1", b"did secret", kind="ed25519")
        os.replace(tmp_path / "node.key.json", tmp_path / "did-1.key.json")
        with pytest.raises(KeyDecryptionFailed):
            store.get("did-1")

    def test_relabelled_kind_fails(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        path = tmp_path / "node.key.json"
        envelope = json.loads(path.read_bytes())
        envelope["kind"] = "ed25519"
        path.write_text(json.dumps(envelope))
        with pytest.raises(KeyDecryptionFailed):
            store.get("node")

    def test_every_tampered_ciphertext_byte_fails(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        path = tmp_path / "node.key.json"
        envelope = json.loads(path.read_bytes())
        for field in ("nonce", "ciphertext"):
            original = base64.b64decode(envelope[field])
            for i in range(len(original)):
                bad = bytearray(original)
                bad[i] ^= 0x01
                path.write_text(json.dumps({**envelope, field: base64.b64encode(bad).decode()}))
                with pytest.raises(KeyDecryptionFailed):
                    store.get("node")

    @pytest.mark.parametrize(
        "content",
        [b"", b"not json", b"[]", b'{"version": 2}', b'{"version": 1, "kind": "ed25519"}',
         b'{"version":1,"kind":"ed25519","nonce":"!!","ciphertext":"AAAA"}',
         b'{"version":1,"kind":"ed25519","nonce":"AAAA","ciphertext":"AAAA"}',
         b'{"version":1,"kind":7,"nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAA"}'],
    )  # fmt: skip
    def test_malformed_envelopes_fail(self, tmp_path: Path, content: bytes) -> None:
        (tmp_path / "node.key.json").write_bytes(content)
        with pytest.raises(KeyDecryptionFailed):
            FileKeyStore(tmp_path, MASTER).get("node")

    def test_stray_files_are_not_names(self, tmp_path: Path) -> None:
        store = FileKeyStore(tmp_path, MASTER)
        store.put("node", SECRET, kind="secp256k1")
        for stray in (".node.1234.tmp", "README", "Upper.key.json", ".key.json"):
            (tmp_path / stray).write_text("x")
        (tmp_path / "sub.key.json").mkdir()
        assert store.names() == ["node"]

    def test_master_key_length_checked(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidMasterKey):
            FileKeyStore(tmp_path, bytes(16))


# --- Master key loading. ---

KEY = bytes(range(100, 132))


def test_master_key_from_hex() -> None:
    assert load_master_key(KEY.hex(), None, create=False) == KEY
    assert load_master_key(KEY.hex().upper() + "\n", None, create=False) == KEY


def test_master_key_from_base64() -> None:
    url = base64.urlsafe_b64encode(KEY).decode()
    assert load_master_key(url, None, create=False) == KEY
    assert load_master_key(url.rstrip("="), None, create=False) == KEY
    assert load_master_key(base64.b64encode(KEY).decode(), None, create=False) == KEY


def test_value_wins_over_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(bytes(32))
    assert load_master_key(KEY.hex(), path, create=False) == KEY


@pytest.mark.parametrize(
    "value", [KEY.hex()[:-2], KEY.hex() + "00", base64.b64encode(KEY[:31]).decode(), "zz" * 32, "!"]
)
def test_master_key_bad_value(value: str) -> None:
    with pytest.raises(InvalidMasterKey) as info:
        load_master_key(value, None, create=False)
    assert value not in info.value.message


def test_master_key_from_file(tmp_path: Path) -> None:
    raw, text = tmp_path / "raw.key", tmp_path / "text.key"
    raw.write_bytes(KEY)
    text.write_text(KEY.hex() + "\n")
    assert load_master_key(None, raw, create=False) == KEY
    assert load_master_key("", text, create=False) == KEY


def test_master_key_file_created_in_dev_mode(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "master.key"
    key = load_master_key(None, path, create=True)
    assert len(key) == 32
    assert path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(None, path, create=True) == key  # created once, then reused
    assert load_master_key(None, tmp_path / "other.key", create=True) != key


def test_master_key_missing(tmp_path: Path) -> None:
    with pytest.raises(InvalidMasterKey):
        load_master_key(None, tmp_path / "absent.key", create=False)
    assert not (tmp_path / "absent.key").exists()
    with pytest.raises(InvalidMasterKey):
        load_master_key(None, None, create=True)


@pytest.mark.parametrize("content", [bytes(31), bytes(33), b"\xff" * 40, b"ab" * 20])
def test_master_key_file_bad_length(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(content)
    with pytest.raises(InvalidMasterKey):
        load_master_key(None, path, create=True)
    assert path.read_bytes() == content  # never overwritten
