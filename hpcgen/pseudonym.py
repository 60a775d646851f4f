"""Pseudonymization of sample identifiers with a keyed HMAC.

The key never enters an output; the mapping (real -> pseudonym) is written to its own file, mode 0600.
A pseudonym is ``P`` followed by the first 16 hex digits of HMAC-SHA256(key, real ID): stable for a
given key, unlinkable without it.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from pathlib import Path
from typing import Iterable, Sequence

from hpcgen.errors import InputError
from hpcgen.fsutil import PRIVATE_FILE_MODE, atomic_write_text

KEY_ENV = "HPCGEN_PSEUDONYM_KEY"
KEY_FILE_ENV = "HPCGEN_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 16


def load_key(key_file: str | os.PathLike | None = None) -> bytes:
    """Read the pseudonymization key: ``key_file``, else ``$HPCGEN_PSEUDONYM_KEY_FILE``, else ``$HPCGEN_PSEUDONYM_KEY``.

    Raises
    ------
    InputError
        No key is configured, the file is unreadable, or the key is shorter than 16 bytes.
    """
    key: bytes | None = None
    source = "environment variable " + KEY_ENV
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        source = str(path)
        try:
            key = Path(path).read_bytes().strip()
        except OSError as exc:
            raise InputError(f"cannot read pseudonymization key ({exc.strerror})", path) from None
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode("utf-8")
    if key is None:
        raise InputError(
            f"no pseudonymization key: pass --key-file, or set {KEY_FILE_ENV} or {KEY_ENV} "
            "(create one with: hpcgen keygen FILE)"
        )
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"pseudonymization key is shorter than {MIN_KEY_BYTES} bytes", source)
    return key


def generate_key_file(path: str | os.PathLike) -> Path:
    """Write a new random key (64 hex characters) to ``path`` with mode 0600; refuse to overwrite."""
    path = Path(path)
    if path.exists():
        raise InputError("key file exists already; refusing to overwrite it", path)
    return atomic_write_text(path, os.urandom(32).hex() + "\n", mode=PRIVATE_FILE_MODE)


def pseudonymize(sample_ids: Iterable[str], key: bytes) -> list[str]:
    """Pseudonyms for ``sample_ids`` in the same order (``P`` + 16 hex digits)."""
    return ["P" + hmac.new(key, sid.encode("utf-8"), hashlib.sha256).hexdigest()[:16] for sid in sample_ids]


def write_mapping(path: str | os.PathLike, real_ids: Sequence[str], pseudonyms: Sequence[str]) -> Path:
    """Write the real -> pseudonym table as TSV with mode 0600 (atomically)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(["sample_id", "pseudonym"])
    writer.writerows(zip(real_ids, pseudonyms))
    return atomic_write_text(path, buf.getvalue(), mode=PRIVATE_FILE_MODE)


def read_mapping(path: str | os.PathLike) -> dict[str, str]:
    """Read a mapping written by :func:`write_mapping`; returns pseudonym -> real ID."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {r["pseudonym"]: r["sample_id"] for r in rows}
