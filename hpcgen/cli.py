"""The ``hpcgen`` command line: a thin shell over the stage functions.

Each subcommand lives beside its stage (``hpcgen/<stage>/cli.py``) and is imported only when used,
so ``hpcgen --help`` stays fast and a stage's heavy imports (torch, dask) cost nothing elsewhere.
Exit codes: 0 ok, 2 bad input or usage, 1 internal error.
"""
from __future__ import annotations

import importlib
import logging
import sys

import click

from hpcgen import __version__
from hpcgen.errors import HpcgenError, InputError

# subcommand -> "module:attribute"; one line per stage entry point
COMMANDS: dict[str, str] = {
    "keygen": "hpcgen.ingest.cli:keygen",
    "ingest": "hpcgen.ingest.cli:ingest",
    "demo-data": "hpcgen.demo.cli:demo_data",
    "store": "hpcgen.store.cli:store",
    "config": "hpcgen.config.cli:config",
    "qc": "hpcgen.qc.cli:qc",
    "filter": "hpcgen.qc.cli:filter_store",
    "pgx": "hpcgen.pgx.cli:pgx",
    "dose": "hpcgen.model.cli:dose",
    "train": "hpcgen.model.cli:train",
    "predict": "hpcgen.model.cli:predict",
    "report": "hpcgen.report.cli:report",
    "run": "hpcgen.workflow:run",
    "impact": "hpcgen.impact.cli:impact",
}

log = logging.getLogger("hpcgen")


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return _missing_command(cmd_name, module_name)
            raise
        return getattr(module, attr)


def _missing_command(name: str, module: str) -> click.Command:
    @click.command(name=name, help=f"(not available in this build: {module} is missing)")
    def _cmd() -> None:
        raise HpcgenError(f"'{name}' is not available in this build ({module} is missing)")

    return _cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="hpcgen")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="How much to log on stderr.",
)
def cli(log_level: str) -> None:
    """hpcgen: cohort genomics, pharmacogenomics, dose models and clinician reports on HPC.

    Data flow: ingest -> store -> qc / pgx -> model -> report. Every stage runs in-process or
    dispatched to Slurm (--profile). No network access is ever made.
    """
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input/usage, 1 internal error)."""
    try:
        cli.main(args=argv, prog_name="hpcgen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("hpcgen: aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2
    except InputError as exc:
        click.echo(f"hpcgen: error: {exc.one_line()}", err=True)
        return 2
    except HpcgenError as exc:
        click.echo(f"hpcgen: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("hpcgen: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, then the trace in debug
        log.debug("internal error", exc_info=True)
        click.echo(f"hpcgen: internal error: {type(exc).__name__}: {exc} (rerun with --log-level debug for the trace)", err=True)
        return 1
    return 0


def entry() -> None:
    """The ``hpcgen`` program: run :func:`main`, then exit with its code.

    Once the command is done (outputs closed and renamed), every live object is moved to the collector's
    permanent generation: the interpreter's last collections then skip them, which saves ~0.15 s at exit
    after numba and pandas were imported (their module graphs are large) — as much as some whole commands.
    Not in :func:`main` itself: tests call that many times in one process.
    """
    import gc
    import os

    # hpcgen's stages run their own thread pools (qc.threads, Dask workers): BLAS threads under them only
    # oversubscribe the cores, and OpenBLAS's idle ones spin (0.15 CPU-s of a 0.6 s hpcgen qc). Set before
    # numpy loads (no subcommand is imported yet); a user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # hpcgen's config is msgspec, but DeepSpeed validates its own (the training config) with pydantic: no
    # third-party pydantic plugin sees it (one, logfire, sends what it sees out)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
