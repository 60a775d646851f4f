"""Atomic, private file output: nothing half-written ever looks complete.

Every stage writes through these helpers: a temporary name in the destination folder, then
``os.replace`` (atomic on POSIX within one file system).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SHARED_FILE_MODE = 0o640


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, mode: int = SHARED_FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only if the block succeeds.

    Parameters
    ----------
    dest
        Final file path.
    mode
        Permission bits given to the file before it is renamed into place.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_text(dest: str | os.PathLike, text: str, mode: int = SHARED_FILE_MODE) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically; return ``dest`` as a Path."""
    with atomic_path(dest, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def atomic_write_bytes(dest: str | os.PathLike, data: bytes, mode: int = SHARED_FILE_MODE) -> Path:
    """Write ``data`` to ``dest`` atomically; return ``dest`` as a Path."""
    with atomic_path(dest, mode) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, mode: int = PRIVATE_DIR_MODE) -> Iterator[Path]:
    """Yield a temporary folder beside ``dest``; it replaces ``dest`` only if the block succeeds.

    An existing ``dest`` is removed only after the new one is complete.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, mode)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, max_len: int = 120) -> str:
    """Turn an identifier into a file name that cannot escape its folder or carry markup.

    Keeps letters, digits, ``.``, ``_`` and ``-``; everything else becomes ``_``; a leading dot
    is replaced so ``..`` and hidden files cannot arise. A short hash keeps distinct inputs distinct.
    """
    cleaned = _UNSAFE.sub("_", name).lstrip(".") or "_"
    if cleaned != name or len(cleaned) > max_len:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        cleaned = f"{cleaned[: max_len - 9]}-{digest}"
    return cleaned


class HashingWriter:
    """A binary file opened for writing that hashes (SHA-256) what goes through it: the digest of a file
    written once, without reading it back. For writers that take a file object (pyarrow's ParquetWriter)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._fh = open(path, "wb")
        self._sha = hashlib.sha256()

    def write(self, data) -> int:
        self._sha.update(data)
        return self._fh.write(data)

    def tell(self) -> int:
        return self._fh.tell()

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def writable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        """SHA-256 of the bytes written so far, as hex."""
        return self._sha.hexdigest()

    def __enter__(self) -> "HashingWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()
