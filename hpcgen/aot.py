"""The QC counting kernels compiled ahead of time, so a short ``hpcgen qc`` does not wait for numba.

Loading numba-jitted kernels in a new process costs about 0.6 s on these machines: importing numba
(~0.25 s) and its typing and code-generation contexts before a cached kernel can be called. That is
longer than plink2 takes for the whole counting pass at 5,000 x 200,000. ``make setup`` therefore also
builds the kernels the counting pass calls into one extension module with ``numba.pycc`` (the same
source, compiled for this CPU), and :func:`kernel` returns those functions when the build matches the
current kernel sources, numba, Python and CPU; otherwise (no build, sources edited since, another
machine, ``NUMBA_DISABLE_JIT=1`` or ``HPCGEN_AOT=0``) it returns the jitted functions, loaded from
numba's cache as before. Nothing else changes: both run the same code and tests compare them.

    python -m hpcgen.aot build        # what ``make setup`` runs (a few seconds); --check says if it is current

Why by hand: numba has no loader for its ahead-of-time modules, and the functions pycc exports trust their
arguments' types (a wrong dtype reads out of bounds), so :func:`kernel` wraps each with the conversions
its signature needs. The wrapper costs microseconds per call; calls are per block of rows.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

MODULE = "_hpcgen_qc_kernels"
BUILD_DIR = Path(__file__).resolve().parent / "_aot"
KERNELS_DIR = Path(__file__).resolve().parent / "kernels"

# name -> (kernel module, function, argument types, return type); an argument is (dtype, ndim) for a
# C-contiguous array ((dtype, ndim, "inout") for one the kernel writes into: it must already be that array,
# a converted copy would lose the writes), or "i8" / "b1" for a scalar
Spec = tuple[str, str, tuple[Any, ...], str]
EXPORTS: dict[str, Spec] = {
    "hardcall_counts": ("hpcgen.kernels.hardcalls", "hardcall_counts",
                        (("u8", 3), ("u8", 2), ("u1", 1), "i8", ("u1", 1), ("u1", 1), ("i8", 1), ("u4", 1)),
                        "Tuple((i8[:, ::1], i8[:, ::1], f8[:, ::1], i8[::1]))"),
    "fill_sparse_rows": ("hpcgen.kernels.hardcalls", "fill_sparse_rows",
                         (("u8", 3, "inout"), "i8", ("u1", 1, "inout"), ("i8", 1), ("u4", 1)), "none"),
    "block_counts_diploid": ("hpcgen.kernels.qc_counts", "_block_counts_diploid",
                             (("i1", 3), ("u1", 1), ("u1", 1)), "Tuple((i8[:, ::1], i8[:, ::1]))"),
    "block_counts_any_ploidy": ("hpcgen.kernels.qc_counts", "_block_counts_any_ploidy",
                                (("i1", 3), ("u1", 1), ("u1", 1)), "Tuple((i8[:, ::1], i8[:, ::1]))"),
    "expected_hom_sums": ("hpcgen.kernels.qc_counts", "expected_hom_sums",
                          (("i1", 3), ("f8", 2), ("i8", 1)), "f8[:, ::1]"),
    "carrier_counts": ("hpcgen.kernels.qc_counts", "carrier_counts", (("i1", 3), ("i8", 1), ("i1", 1)), "i8[::1]"),
    "hwe_lnp_array": ("hpcgen.kernels.hwe", "hwe_lnp_array", (("i8", 1), ("i8", 1), ("i8", 1), "b1"), "f8[::1]"),
    "variant_classes": ("hpcgen.kernels.variant_class", "variant_classes", (("i8", 1), ("u1", 1), ("i8", 1), ("u1", 1)),
                        "u1[::1]"),
}
_NUMPY = {"u8": np.uint64, "u4": np.uint32, "u1": np.uint8, "i1": np.int8, "i8": np.int64, "f8": np.float64}

_loaded: dict[str, Any] = {}


def _signature(spec: Spec) -> str:
    """The numba signature string of an export, e.g. ``f8[::1](i8[::1], b1)``."""
    args = [a if isinstance(a, str) else f"{a[0]}[{', '.join([':'] * (a[1] - 1) + ['::1'])}]" for a in spec[2]]
    return f"{spec[3]}({', '.join(args)})"


def _cpu() -> str:
    """This CPU's model and instruction-set flags (the build targets the host CPU)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    keep = [ln for ln in lines if ln.startswith(("model name", "flags"))][:2]
    return "\n".join(keep)


def _numba_version() -> str:
    spec = importlib.util.find_spec("numba")
    if spec is None or not spec.submodule_search_locations:
        return "absent"
    site = Path(list(spec.submodule_search_locations)[0]).parent
    dists = sorted(p.name for p in site.glob("numba-*.dist-info"))
    return dists[-1] if dists else "unknown"


def fingerprint() -> str:
    """Hash of what the build depends on: kernel sources, the export list, numba, Python and the CPU."""
    h = hashlib.sha256()
    for path in sorted(KERNELS_DIR.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(json.dumps({k: _signature(v) + v[0] + v[1] for k, v in EXPORTS.items()}, sort_keys=True).encode())
    h.update(f"{_numba_version()}\n{sys.version}\n{_cpu()}".encode())
    return h.hexdigest()


def _wrap(fn: Callable, spec: Spec) -> Callable:
    """``fn`` with each argument converted to the type its signature trusts (copies only when needed)."""
    kinds = spec[2]

    def call(*args: Any) -> Any:
        if len(args) != len(kinds):
            raise TypeError(f"{spec[1]}() takes {len(kinds)} arguments ({len(args)} given)")
        conv = []
        for a, k in zip(args, kinds):
            if k == "i8":
                conv.append(int(a))
            elif k == "b1":
                conv.append(bool(a))
            elif len(k) > 2:  # written into: must be that array already (a converted copy would lose the writes)
                if not (isinstance(a, np.ndarray) and a.dtype == _NUMPY[k[0]] and a.flags.c_contiguous):
                    raise TypeError(f"{spec[1]}: an array it writes into must be C-contiguous {_NUMPY[k[0]].__name__}")
                if a.ndim != k[1]:
                    raise ValueError(f"{spec[1]}: expected a {k[1]}-d array, got shape {a.shape}")
                conv.append(a)
            else:
                arr = np.ascontiguousarray(a, dtype=_NUMPY[k[0]])
                if arr.ndim != k[1]:
                    raise ValueError(f"{spec[1]}: expected a {k[1]}-d array, got shape {arr.shape}")
                conv.append(arr)
        return fn(*conv)

    call.__name__ = call.__qualname__ = spec[1]
    call.__doc__ = f"Ahead-of-time build of {spec[0]}.{spec[1]} ({_signature(spec)})."
    return call


def _compiled_module() -> Any | None:
    """The built extension module when it exists and matches :func:`fingerprint`, else None."""
    if "module" in _loaded:
        return _loaded["module"]
    mod = None
    if os.environ.get("HPCGEN_AOT", "1") != "0" and os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0"):
        try:
            meta = json.loads((BUILD_DIR / f"{MODULE}.json").read_text())
            if meta.get("fingerprint") == fingerprint():
                path = BUILD_DIR / meta["file"]
                loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
                spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
                mod = importlib.util.module_from_spec(spec)
                loader.exec_module(mod)
        except (OSError, ValueError, KeyError, ImportError):
            mod = None
    _loaded["module"] = mod
    return mod


def available() -> bool:
    """True when :func:`kernel` returns the ahead-of-time functions (no numba start-up)."""
    return _compiled_module() is not None


def kernel(name: str) -> Callable:
    """The kernel ``name`` of :data:`EXPORTS` (or ``"block_counts"``): ahead-of-time when built, else jitted."""
    key = f"fn:{name}"
    if key in _loaded:
        return _loaded[key]
    mod = _compiled_module()
    if name == "block_counts":
        if mod is None:
            from hpcgen.kernels.qc_counts import block_counts as fn
        else:
            from hpcgen.kernels.layout import diploid_fast_path

            diploid, generic = kernel("block_counts_diploid"), kernel("block_counts_any_ploidy")

            def fn(g, vclass, autosomal):  # the choice kernels.qc_counts.block_counts makes
                return (diploid if diploid_fast_path(g) else generic)(g, vclass, autosomal)
    else:
        spec = EXPORTS[name]
        if mod is None:
            fn = getattr(importlib.import_module(spec[0]), spec[1])
        else:
            fn = _wrap(getattr(mod, name), spec)
    _loaded[key] = fn
    return fn


def build(out_dir: Path = BUILD_DIR) -> Path:
    """Compile :data:`EXPORTS` into ``out_dir`` with ``numba.pycc`` for this CPU; return the module's path.

    The module and its fingerprint file are written to temporary names and renamed: an interrupted build
    leaves the previous one (or none), never a half-written module that looks current.
    """
    import shutil
    import tempfile

    import numba.pycc.compiler as pycc_compiler
    from numba.core.compiler import Flags
    from numba.pycc import CC

    class _NoGilFlags(Flags):
        # pycc has no nogil option: the exported kernels touch no Python object, so, as with the jitted
        # ``nogil=True`` versions, threads run them in parallel
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = fingerprint()
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        cc = CC(MODULE)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        for name, spec in EXPORTS.items():
            dispatcher = getattr(importlib.import_module(spec[0]), spec[1])
            cc.export(name, _signature(spec))(dispatcher.py_func)
        saved = pycc_compiler.Flags
        pycc_compiler.Flags = _NoGilFlags
        try:
            cc.compile()
        finally:
            pycc_compiler.Flags = saved
        (built,) = Path(tmp).glob(f"{MODULE}*.so")
        target = out_dir / built.name
        shutil.move(str(built), str(target) + ".tmp")
        os.replace(str(target) + ".tmp", target)
        meta = Path(tmp) / "meta.json"
        meta.write_text(json.dumps({"fingerprint": stamp, "file": built.name,
                                    "exports": {k: _signature(v) for k, v in EXPORTS.items()}}, indent=1) + "\n")
        os.replace(meta, out_dir / f"{MODULE}.json")
    _loaded.clear()
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m hpcgen.aot build|check``: build the module, or say whether the built one is current."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["build"]:
        print(f"hpcgen.aot: built {build()}")
        return 0
    if args[:1] == ["check"]:
        ok = available()
        print("hpcgen.aot: current" if ok else "hpcgen.aot: not built or out of date (run: python -m hpcgen.aot build)")
        return 0 if ok else 1
    print("usage: python -m hpcgen.aot build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
