"""Capture htslib's messages (printed on fd 2 by the C library) so errors can name its reason in one line."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Send fd 2 to a temp file; yield a list that holds its lines once the block exits."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines.extend(tmp.read().decode("utf-8", "replace").splitlines())


def htslib_reason(lines: list[str]) -> str:
    """The last ``[E::...]`` message without its prefix (else the last line, else empty)."""
    errors = [ln.split("] ", 1)[-1] for ln in lines if ln.startswith("[E::")]
    return errors[-1] if errors else (lines[-1] if lines else "")
