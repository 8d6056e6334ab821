"""HTML to PDF with WeasyPrint, fetching nothing: no network, no file on disk.

Every PDF bondtrack writes (letters, the court report) goes through here, so the
one fetch policy holds for all: a template that names a URL gets no answer. Our
templates carry their CSS and images inline. WeasyPrint is imported when a PDF
is made: it is slow to load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weasyprint import Document

Progress = Callable[[str, int, int], None]
# WeasyPrint logs a line per step of every page at INFO ("Step 5 - Creating layout - Page 3"):
# most of a busy server's log. Its warnings still come through.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def write_pdf(html_text: str, target: Path, progress: Progress | None = None) -> None:
    """One PDF from one HTML document; nothing is fetched from the network or disk."""
    target.write_bytes(_layout(html_text, progress).write_pdf())


def split_pdf(html_text: str, targets: Sequence[Path], progress: Progress | None = None) -> None:
    """One layout pass for many letters, written as one PDF per letter.

    Laying out once and cutting the pages at each letter's anchor is several
    times faster than one WeasyPrint run per letter.
    """
    laid_out = _layout(html_text, progress)
    # A letter's anchor is on every page it covers: it starts where its anchor first shows.
    first_page: dict[str, int] = {}
    for index, page in enumerate(laid_out.pages):
        for name in page.anchors:
            if name.startswith("letter-"):
                first_page.setdefault(name, index)
    starts = sorted(first_page.values())
    ends = [*starts[1:], len(laid_out.pages)]
    if len(starts) != len(targets):
        raise RuntimeError("letters and pages do not line up")
    for done, (target, start, end) in enumerate(zip(targets, starts, ends, strict=True), 1):
        target.write_bytes(laid_out.copy(laid_out.pages[start:end]).write_pdf())
        if progress:
            progress("writing", done, len(targets))


def _layout(html_text: str, progress: Progress | None) -> Document:
    """WeasyPrint's layout of the whole document: the slow step, reported as one."""
    import weasyprint

    if progress:
        progress("laying out", 0, 1)
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",))
    document = weasyprint.HTML(string=html_text, url_fetcher=fetcher).render()
    if progress:
        progress("laying out", 1, 1)
    return document
