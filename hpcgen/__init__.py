"""hpcgen: sovereign batch genomics for hospitals on HPC machines.

Data flow: ingest -> store -> qc / pgx -> model -> report; dispatch and impact beside every stage.
"""
# the single place the version is written (pyproject.toml reads it from here); a constant, not
# importlib.metadata, which costs ~25 ms at every start of the command line
__version__ = "0.1.0"

__all__ = ["__version__"]
