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
