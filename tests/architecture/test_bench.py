"""`make bench`'s measures, as the README lists them."""

from __future__ import annotations

import re

from tests.support import README, ROOT


def test_the_readme_lists_every_measure_the_bench_runs() -> None:
    sources = [(ROOT / "bench" / "run").read_text()] + [
        path.read_text() for path in sorted((ROOT / "bench").glob("*.py"))]
    found = [re.findall(r'report\(f?"(\w+)|print\(f"(\w+) ratio=', text) for text in sources]
    measures = {name for pairs in found for pair in pairs for name in pair if name}
    assert len(measures) >= 9, measures
    section = README.read_text().split("`make bench` builds", 1)[1].split("\n\n", 1)[0]
    assert [name for name in sorted(measures) if f"`{name}`" not in section] == []
