"""The server log is not flooded: WeasyPrint's per-page progress lines stay out of it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from workflow.core import pdf


def test_writing_a_pdf_logs_no_per_page_progress(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    pages = "".join(f"<p style='page-break-after: always'>page {n}</p>" for n in range(5))
    pdf.write_pdf(f"<html><body>{pages}</body></html>", tmp_path / "five.pdf")
    assert (tmp_path / "five.pdf").read_bytes().startswith(b"%PDF")
    assert [r for r in caplog.records if r.name.startswith("weasyprint")
            and r.levelno < logging.WARNING] == []
