"""PDF from the very same HTML, with WeasyPrint (print stylesheet, A4, page numbers).

WeasyPrint is told to fetch nothing: the pages are self-contained, and a URL fetcher that refuses
every request makes sure a stray reference can never reach the network.
"""
from __future__ import annotations

from pathlib import Path


def _no_fetch(url: str, *args, **kwargs):
    # data: URIs are decoded by WeasyPrint itself; anything else would be a network or file access
    raise ValueError(f"hpcgen reports fetch nothing (refused {url[:60]!r})")


def html_to_pdf(html: str, dest: Path) -> None:
    """Render ``html`` to a PDF file at ``dest`` (the caller makes the write atomic)."""
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores (grid, custom properties): not our users' concern
    for name in ("weasyprint", "weasyprint.progress"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, url_fetcher=_no_fetch, base_url=None).write_pdf(str(dest))


def _render_one(job: tuple[str, Path]) -> None:
    html_to_pdf(*job)


def render_pdfs(jobs: list[tuple[str, Path]], workers: int = 1) -> None:
    """Render ``(html, dest)`` pairs; with ``workers`` > 1 in that many processes (WeasyPrint is single-threaded)."""
    from hpcgen.progress import progress

    if workers <= 1 or len(jobs) <= 1:
        for job in progress(jobs, total=len(jobs), desc="pdf"):
            _render_one(job)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    # spawn, not fork: the parent may hold threads (matplotlib, tqdm) that fork would copy mid-state
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        for _ in progress(pool.map(_render_one, jobs, chunksize=4), total=len(jobs), desc="pdf"):
            pass
