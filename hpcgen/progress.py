"""Progress bars for long steps: shown on a terminal, silent in batch jobs and pipes."""
from __future__ import annotations

import sys
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar on stderr when stderr is a terminal."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not sys.stderr.isatty(), leave=False)
