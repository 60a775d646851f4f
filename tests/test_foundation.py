"""Foundation pieces every stage relies on: pseudonymization, atomic output, safe names, exit codes, provenance."""
from __future__ import annotations

import os
import stat

import pytest

from conftest import run_hpcgen
from hpcgen.audit import provenance_record
from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_dir, atomic_path, safe_filename
from hpcgen.pseudonym import generate_key_file, load_key, pseudonymize, read_mapping, write_mapping


def test_pseudonyms_are_keyed_stable_and_distinct():
    ids = ["CHU-0001", "CHU-0002", "CHU-0001"]
    a = pseudonymize(ids, b"k" * 32)
    assert a[0] == a[2] and a[0] != a[1]
    assert a == pseudonymize(ids, b"k" * 32)
    assert pseudonymize(ids, b"j" * 32)[0] != a[0]
    # a pseudonym reveals nothing of the ID's text
    assert all(p.startswith("P") and len(p) == 17 and "CHU" not in p for p in a)


def test_mapping_and_key_are_private(tmp_path):
    key = generate_key_file(tmp_path / "k")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with pytest.raises(InputError, match="exists already"):
        generate_key_file(tmp_path / "k")
    m = write_mapping(tmp_path / "map.tsv", ["A", "B"], pseudonymize(["A", "B"], load_key(key)))
    assert stat.S_IMODE(os.stat(m).st_mode) == 0o600
    assert set(read_mapping(m).values()) == {"A", "B"}


def test_missing_or_short_key_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("HPCGEN_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.delenv("HPCGEN_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InputError, match="no pseudonymization key"):
        load_key()
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(InputError, match="shorter than 16 bytes"):
        load_key(short)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(dest) as tmp:
        tmp.write_text("whole")
    assert dest.read_text() == "whole"


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    dest = tmp_path / "d"
    with atomic_dir(dest) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(ValueError):
        with atomic_dir(dest) as tmp:
            (tmp / "a").write_text("2")
            raise ValueError
    assert (dest / "a").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "<script>alert(1)</script>", "..", ".hidden", "a/b\\c", ""])
def test_safe_filename_cannot_escape_or_inject(name, tmp_path):
    safe = safe_filename(name)
    assert "/" not in safe and "\\" not in safe and "<" not in safe and not safe.startswith(".")
    assert (tmp_path / safe).resolve().parent == tmp_path.resolve()


def test_safe_filename_keeps_distinct_names_distinct():
    assert safe_filename("a/b") != safe_filename("a_b")
    assert safe_filename("P0123abcd") == "P0123abcd"


def test_exit_codes():
    assert run_hpcgen("no-such-command").returncode == 2
    assert run_hpcgen("config", "show", "--config", "/nonexistent.yaml").returncode == 2
    assert run_hpcgen("config", "show").returncode == 0


def test_provenance_names_inputs_and_versions(tmp_path):
    f = tmp_path / "in.vcf"
    f.write_text("x")
    rec = provenance_record([f, tmp_path / "absent"], {"a": 1}, "local")
    assert rec["inputs_sha256"][str(f)] == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert rec["inputs_sha256"][str(tmp_path / "absent")] is None
    assert rec["profile"] == "local" and rec["code_version"] and len(rec["config_sha256"]) == 64
