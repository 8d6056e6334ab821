"""The custody-list preview in the browser, on SQLite and PostgreSQL: one row per person the
list would change or flag, every note and every problem by FILE:LINE, nothing written."""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import select

from tests.fixtures_web import Browser, Web
from workflow.record.models import Detainee, Event

HEADER = b"A-Number,Facility Code,Facility Name,Status\n"


def _preview(browser: Browser, content: bytes):  # type: ignore[no-untyped-def]
    return browser.post("/bulk/reconcile/preview",
                        {"file": (io.BytesIO(content), "custody.csv"), "order": "1"},
                        content_type="multipart/form-data")


def _rows(page: str) -> list[list[str]]:
    table = page[page.index('id="custody-changes"'):page.index("</table>",
                                                                page.index("custody-changes"))]
    cells = (re.findall(r"<td>(.*?)</td>", row, re.S)
             for row in re.findall(r"<tr><td>.*?</tr>", table, re.S))
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in row]
            for row in cells]


def test_the_custody_preview_shows_each_change_by_line(web: Web) -> None:
    browser = web.browser("staff")
    first, second, third = web.ids
    version = browser.version(first)
    assert browser.post(f"/people/{first}/locate", {"facility": "KRO",
                                                    "version": version}).status_code == 303
    listed = HEADER + (b"A200000003,EAZ,Eloy Detention Center,in custody\n"
                       b"A200000001,EAZ,Eloy Detention Center,in custody\n"
                       b"A299999999,EAZ,Eloy Detention Center,in custody\n")
    with web.database.read() as session:
        before = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    page = _preview(browser, listed)
    assert page.status_code == 200, page.text[:1000]
    assert page.headers["Cache-Control"] == "no-store"
    rows = _rows(page.text)
    assert rows == [
        ["custody.csv:2", f"#{third}", "Lindqvist, Maja", "Intake", "located at EAZ"],
        ["custody.csv:3", f"#{first}", "Quispe<script>alert(1)</script>, Rosa", "Located",
         "transferred and located at EAZ (was KRO)"],
        ["not on the list", f"#{second}", 'Okafor, Chidi "><img src=x onerror=alert(2)>',
         "Intake", "flagged: not on the custody list"],
    ]
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "custody.csv:4: a_number: not in order" in text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    assert f'href="/people/{third}"' in page.text
    with web.database.read() as session:
        assert session.get(Detainee, third).stage == "INTAKE"  # a preview changes nothing
        assert session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) == before


def test_a_bad_custody_list_shows_every_problem_by_file_and_line(web: Web) -> None:
    browser = web.browser("attorney")
    bad = HEADER + (b"A200000003,EAZ,Eloy Detention Center,in custody\n"
                    b"A200000001,EAZ,Eloy Detention Center,on the moon\n"
                    b"not-a-number,EAZ,Eloy Detention Center,in custody\n"
                    b"A200000002,,,in custody\n")
    page = _preview(browser, bad)
    assert page.status_code == 400
    problems = re.findall(r"<li>(.*?)</li>", page.text)
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5"], problems
    assert all(p.startswith("custody.csv:") for p in problems)
    assert 'name="token"' not in page.text and 'id="custody-changes"' not in page.text
    assert not list((web.settings.home / "web-uploads").iterdir())
