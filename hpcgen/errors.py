"""Error types shared by every stage; the CLI maps them to exit codes.

Exit codes: 0 ok, 2 bad input or usage (:class:`InputError`), 1 internal error (anything else).
"""
from __future__ import annotations

from os import PathLike


class HpcgenError(Exception):
    """Base class for errors hpcgen reports without a traceback (exit code 1)."""

    exit_code = 1


class InputError(HpcgenError):
    """Bad input: a one-line message naming the file and, where known, the record (exit code 2).

    Parameters
    ----------
    message
        What is wrong, in words a user can act on.
    path
        The file (or folder) at fault.
    record
        Where in it: a line number, ``chrom:pos``, a row number, a config key.
    """

    exit_code = 2

    def __init__(self, message: str, path: str | PathLike | None = None, record: str | int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.record = None if record is None else str(record)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.record is not None:
                where += f": record {self.record}"
            where += ": "
        elif self.record is not None:
            where = f"record {self.record}: "
        return (where + self.message).replace("\n", " ")
