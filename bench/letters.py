#!/usr/bin/env python3
"""615 client letters into one PDF, against WeasyPrint alone on the same HTML.

Ours is `render_letters(kind="client", one_file=True)`: reading the order,
choosing each reader's language, rendering 615 letters with Jinja2 and Babel,
laying them out and writing the PDF. The baseline is one WeasyPrint render of
the same letters' HTML, concatenated by hand from the one-letter HTML files.
Each side is the median of several runs, alternated. Prints
`letters ratio=X goal=1.3 PASS|FAIL (...)` and the letters per second.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from workflow.core.files import ensure_private_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PEOPLE = 615
GOAL = 1.3
RUNS = 3


def build(workdir: Path):  # type: ignore[no-untyped-def]
    """The demo order (615 synthetic people, about 80% Spanish) in its own home."""
    from workflow import demo
    from workflow.core import config
    from workflow.record import db

    home = ensure_private_dir(workdir / "home")
    settings = config.load({**os.environ, "BONDTRACK_HOME": str(home),
                            "BONDTRACK_DATABASE_URL": ""})
    database = db.connect(settings)
    db.upgrade(database)
    demo.build(database, home, people=PEOPLE, seed=2025, now=demo.NOW)
    return database, settings


def by_hand(folder: Path) -> str:
    """One document from the one-letter HTML files: the first file's head, every letter's body.

    The anchors our pipeline uses to cut per-letter PDFs are left out: the
    baseline is layout alone.
    """
    pages = [path.read_text() for path in sorted(folder.glob("*.html"))]
    head = pages[0].split("<body>", 1)[0]
    bodies = [re.sub(r' id="letter-\d+"', "", re.search(r"<body>(.*)</body>", page, re.S).group(1))  # type: ignore[union-attr]
              for page in pages]
    return f"{head}<body>{''.join(bodies)}</body></html>"


def main() -> int:
    import weasyprint

    from workflow import demo
    from workflow.notices.sending import render_letters
    from workflow.record.audit import Actor

    with tempfile.TemporaryDirectory(prefix="bondtrack-bench-letters-") as tmp:
        workdir = Path(tmp)
        database, settings = build(workdir)
        common = {"case": None, "kind": "client", "now": demo.NOW, "actor": Actor("bench")}
        render_letters(database, settings, out=workdir / "html", fmt="html", **common)
        document = by_hand(workdir / "html")
        fetcher = weasyprint.URLFetcher(allowed_protocols=("data",))
        ours, hand = [], []
        for run in range(RUNS):
            start = time.perf_counter()
            batch = render_letters(database, settings, out=workdir / f"ours-{run}", one_file=True,
                                   **common)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            page = weasyprint.HTML(string=document, url_fetcher=fetcher)
            page.write_pdf(workdir / f"hand-{run}.pdf")
            hand.append(time.perf_counter() - start)
        database.dispose()
    assert len(batch.letters) == PEOPLE
    mine, theirs = statistics.median(ours), statistics.median(hand)
    ratio = mine / theirs
    print(f"letters ratio={ratio:.2f} goal={GOAL} {'PASS' if ratio <= GOAL else 'FAIL'}"
          f" (render_letters {mine:.1f} s vs one WeasyPrint render {theirs:.1f} s;"
          f" {PEOPLE / mine:.1f} letters per second)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
