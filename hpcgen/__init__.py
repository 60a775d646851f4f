"""hpcgen: sovereign batch genomics for hospitals on HPC machines.

Data flow: ingest -> store -> qc / pgx -> model -> report; dispatch and impact beside every stage.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hpcgen")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
