"""The whole day in the browser, on SQLite and PostgreSQL: a class list or history sheet
imported (the dry run, problems by line, a confirmation that writes it all or finds the
record changed), a person added by hand, the bond ledger, the hearings calendar, and the
court report as a PDF as of a time."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures_report import pdf_text
from tests.fixtures_web import Browser, Web, email
from workflow.record.models import Detainee, Event

HEADER = "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
NEW = "A-300-000-001,Mamani,Lucía,1988-03-02,Quechua,EAZ,Eloy Detention Center\n"
# Maja Lindqvist, already in the order: her language changes.
CHANGED = "A-200-000-003,Lindqvist,Maja,1990-01-15,Swedish,EAZ,Eloy Detention Center\n"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _upload(browser: Browser, content: str, name: str = "class-list.csv"):  # type: ignore[no-untyped-def]
    return browser.post("/intake/import/preview",
                        {"file": (io.BytesIO(content.encode()), name), "order": "1"},
                        content_type="multipart/form-data")


def _token(page: str) -> str:
    return re.search(r'name="token" value="(\w+)"', page).group(1)  # type: ignore[union-attr]


def _counts(web: Web) -> tuple[int, int]:
    with web.database.read() as session:
        return (session.scalar(select(func.count()).select_from(Detainee)) or 0,
                session.scalar(select(func.count()).select_from(Event)) or 0)


def _uploads_left(web: Web) -> list[Path]:
    folder = web.settings.home / "web-uploads"
    return list(folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- importing


def test_a_class_list_is_previewed_then_imported_in_one_step_and_audited(web: Web) -> None:
    browser = web.browser("staff")
    before = _counts(web)
    preview = _upload(browser, HEADER + NEW + CHANGED)
    assert preview.status_code == 200, preview.text[:2000]
    text = _text(preview.text)
    assert "Preview: nothing is imported until you confirm" in text
    assert "New people 1 Updated 1 (1 field) Unchanged 0 Rejected 0" in text
    assert _counts(web) == before  # the dry run wrote nothing
    kept = _uploads_left(web)
    assert len(kept) == 1 and (kept[0].stat().st_mode & 0o777) == 0o700
    done = browser.post("/intake/import/confirm", {"token": _token(preview.text), "order": "1"})
    assert done.status_code == 303, done.text[:2000]
    page = browser.get(done.headers["Location"])
    assert "imported: 1 new, 1 updated (1 field), 0 unchanged" in page.text
    with web.database.read() as session:
        added = session.scalars(select(Detainee).where(Detainee.a_number == "300000001")).one()
        assert (added.family_name, added.stage, added.language) == ("Mamani", "INTAKE",
                                                                    "quechua")
        audit = session.scalars(select(Event).where(Event.kind == "class-list-imported")
                                .order_by(Event.id.desc())).first()
        assert audit is not None
        assert (audit.actor, audit.source) == (email("staff"), "web")
        assert audit.payload["file"] == "class-list.csv" and audit.payload["created"] == 1
    assert _uploads_left(web) == []
    again = browser.post("/intake/import/confirm", {"token": _token(preview.text), "order": "1"})
    assert again.status_code == 404 and "upload the file again" in again.text


def test_a_bad_class_list_shows_every_problem_by_line_with_the_files_own_name(web: Web) -> None:
    browser = web.browser("attorney")
    before = _counts(web)
    bad = (HEADER + NEW
           + "A-300-000-002,Mamani,,2099-01-01,Quechua,,\n"
           + "not a number,Quispe,Ana,1990-01-01,Spanish,,\n")
    page = _upload(browser, bad, "Roster Dec 5.csv")
    assert page.status_code == 400
    problems = [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", page.text)]
    assert problems == ["Roster Dec 5.csv:3: given_name: is required",
                        "Roster Dec 5.csv:3: date_of_birth: is in the future",
                        "Roster Dec 5.csv:4: a_number: not an A-number (8 or 9 digits,"
                        " optionally after 'A')"]
    assert "nothing was imported" in page.text and 'name="token"' not in page.text
    assert _counts(web) == before and _uploads_left(web) == []


def test_a_history_sheet_records_each_persons_moves_with_the_files_dates(web: Web) -> None:
    browser = web.browser("staff")
    sheet = ("A#,Last Name,First Name,DOB,Language,Facility,Stage,Located\n"
             "A-300-000-001,Mamani,Lucía,1988-03-02,Quechua,EAZ,located,2025-11-14 10:00\n")
    preview = _upload(browser, sheet, "history.csv")
    assert preview.status_code == 200, preview.text[:2000]
    assert "New people 1" in _text(preview.text)
    assert "Moves from the file's history Located 1 (1 move)" in _text(preview.text)
    assert _counts(web)[0] == len(web.ids)
    assert browser.post("/intake/import/confirm",
                        {"token": _token(preview.text), "order": "1"}).status_code == 303
    with web.database.read() as session:
        lucia = session.scalars(select(Detainee).where(Detainee.a_number == "300000001")).one()
        assert (lucia.stage, lucia.facility.code) == ("LOCATED", "EAZ")
        since = lucia.stage_since.replace(tzinfo=None).isoformat()
        assert since == "2025-11-14T16:00:00"  # 10:00 in Chicago, stored in UTC


def test_a_confirmation_after_the_record_changed_shows_the_new_preview_and_writes_nothing(
        web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    browser = web.browser("staff")
    preview = _upload(browser, HEADER + NEW + CHANGED)
    token = _token(preview.text)
    # Meanwhile someone imports the new person from the command line.
    (web.settings.home / "meanwhile.csv").write_text(HEADER + NEW, encoding="utf-8")
    cli("import", web.settings.home / "meanwhile.csv")
    before = _counts(web)
    stale = browser.post("/intake/import/confirm", {"token": token, "order": "1"})
    assert stale.status_code == 409
    text = _text(stale.text)
    assert "the record changed since the preview" in text
    assert "New people 0 Updated 1 (1 field) Unchanged 1" in text
    assert _counts(web) == before
    done = browser.post("/intake/import/confirm", {"token": _token(stale.text), "order": "1"})
    assert done.status_code == 303
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[2]).language == "swedish"


def test_a_preview_whose_file_is_gone_is_said_once(web: Web) -> None:
    import shutil

    browser = web.browser("staff")
    token = _token(_upload(browser, HEADER + NEW).text)
    shutil.rmtree(web.settings.home / "web-uploads" / token)  # cleaned away meanwhile
    gone = browser.post("/intake/import/confirm", {"token": token, "order": "1"})
    assert gone.status_code == 404 and "no such upload" in gone.text
    assert "upload the file again" in gone.text and 'name="token"' not in gone.text
    again = browser.post("/intake/import/confirm", {"token": token, "order": "1"})
    assert again.status_code == 404 and "that preview is gone" in again.text  # forgotten
    assert _counts(web)[0] == len(web.ids)


def test_another_session_cannot_confirm_an_upload(web: Web) -> None:
    preview = _upload(web.browser("staff"), HEADER + NEW)
    other = web.browser("attorney")
    answer = other.post("/intake/import/confirm", {"token": _token(preview.text), "order": "1"})
    assert answer.status_code == 404
    with web.database.read() as session:
        assert session.scalar(select(Detainee.id).where(Detainee.a_number == "300000001")) is None


# ---------------------------------------------------------------- one person by hand

PERSON = {"a_number": "A 300-000-009", "family_name": "Huanca", "given_name": "Rosa",
          "date_of_birth": "1985-07-30", "country_of_birth": "Peru", "language": "Spanish",
          "phone": "+1 (312) 555-0142", "facility_code": "Eloy Detention Center", "order": "1"}


def test_one_person_is_added_by_hand_with_the_class_lists_rules(web: Web) -> None:
    browser = web.browser("staff")
    form = browser.get("/intake/person")
    assert form.status_code == 200 and '<option value="EAZ">' in form.text
    added = browser.post("/intake/person", PERSON)
    assert added.status_code == 303, added.text[:2000]
    with web.database.read() as session:
        person = session.scalars(select(Detainee).where(Detainee.a_number == "300000009")).one()
        assert added.headers["Location"].endswith(f"/people/{person.id}")
        assert (person.family_name, person.given_name, person.stage, person.country_of_birth,
                person.phone, person.facility.code) == (
            "Huanca", "Rosa", "INTAKE", "Peru", "+1 (312) 555-0142", "EAZ")
        kinds = session.execute(select(Event.kind, Event.actor, Event.source)
                                .where(Event.detainee_id == person.id).order_by(Event.id)).all()
        assert [tuple(k) for k in kinds] == [("imported", email("staff"), "web"),
                                             ("person-added", email("staff"), "web")]
    page = browser.get(added.headers["Location"])
    assert "Huanca" in page.text and "in Intake" in page.text


def test_a_person_by_hand_is_refused_with_every_problem_and_nothing_written(web: Web) -> None:
    browser = web.browser("attorney")
    before = _counts(web)
    again = browser.post("/intake/person", {**PERSON, "a_number": "A-200-000-001"})
    assert again.status_code == 400
    assert "A200-000-001 is already in order" in html.unescape(again.text)
    assert 'value="Huanca"' in again.text  # the form as sent, to correct
    bad = browser.post("/intake/person", {**PERSON, "a_number": "12", "given_name": "",
                                          "date_of_birth": "2099-01-01", "language": "",
                                          "phone": "call me", "facility_code": "Nowhere Jail"})
    assert bad.status_code == 400
    problems = [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", bad.text)]
    for column in ("a_number", "given_name", "date_of_birth", "language", "phone",
                   "facility_code"):
        assert any(p.startswith(f"{column}: ") for p in problems), (column, problems)
    assert "the person was not added" in bad.text
    assert _counts(web) == before


# ---------------------------------------------------------------- the ledger and hearings


def _posted(cli) -> None:  # type: ignore[no-untyped-def]
    cli("locate", "A200000003", "--facility", "EAZ")
    cli("bond", "A200000003", "--amount", "4500", "--obligor", "Rosa Núñez",
        "--obligor-phone", "+1 773-555-0101")
    cli("post", "A200000003", "--receipt", "I305-0042")


def test_the_bond_ledger_shows_the_counts_sums_and_obligors_to_attorneys(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    _posted(cli)
    page = web.browser("attorney").get("/bonds")
    assert page.status_code == 200
    text = _text(page.text)
    assert "posted 1 $4,500" in text and "active 1 $4,500" in text
    assert "Rosa Núñez 1 $4,500 $4,500 $0" in text
    assert "None overdue." in text
    assert web.browser("admin").get("/bonds").status_code == 200
    assert web.browser("staff").get("/bonds").status_code == 403


def test_the_hearings_calendar_groups_by_day_in_each_courts_zone(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    cli("hearing", "add", "A200000001", "--at", "2026-01-14 09:00", "--court", "chicago")
    # 23:30 in Eloy (MST) is already the 15th in Chicago: the day is the court's own.
    cli("hearing", "add", "A200000003", "--at", "2026-01-14 23:30", "--court", "eloy",
        "--kind", "individual")
    cli("hearing", "add", "A200000002", "--at", "2026-01-13 08:30", "--court", "chicago")
    page = web.browser("attorney").get("/hearings")
    assert page.status_code == 200
    text = _text(page.text)
    first, second = text.index("Tuesday 13 January 2026"), text.index("Wednesday 14 January 2026")
    assert first < second and "Thursday 15 January" not in text
    day_two = text[second:]
    assert "Wed 14 Jan 2026, 09:00 CST" in day_two and "Wed 14 Jan 2026, 23:30 MST" in day_two
    assert day_two.index("09:00 CST") < day_two.index("23:30 MST")
    assert "Lindqvist, Maja" in day_two
    admin = web.browser("admin").get("/hearings")
    assert admin.status_code == 200 and "Lindqvist" not in admin.text  # no names for admins
    assert f"#{web.ids[2]}" in admin.text
    assert web.browser("staff").get("/hearings").status_code == 403


# ---------------------------------------------------------------- the court report


def test_the_court_report_is_a_pdf_as_of_a_time_and_audited(web: Web, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("locate", "A200000003", "--facility", "EAZ")
    browser = web.browser("attorney")
    form = browser.get("/downloads/report?order=1")
    assert form.status_code == 200 and 'name="as_of"' in form.text
    answer = browser.post("/downloads/report", {"format": "pdf", "as_of": "2025-11-13 09:00",
                                                "order": "1"})
    assert answer.status_code == 200, answer.text[:2000]
    assert answer.headers["Content-Type"] == "application/pdf"
    assert "compliance-report.pdf" in answer.headers["Content-Disposition"]
    (tmp_path / "report.pdf").write_bytes(answer.data)
    text = " ".join(pdf_text(tmp_path / "report.pdf", layout=False).split())
    assert "Compliance report as of Thu 13 Nov 2025, 09:00 CST" in text, text[:1500]
    with web.database.read() as session:
        audit = session.scalars(select(Event).where(Event.kind == "report-generated")
                                .order_by(Event.id.desc())).first()
        assert audit is not None and audit.actor == email("attorney")
        assert audit.payload["format"] == "pdf"
        assert audit.payload["as_of"] == "2025-11-13T09:00:00-06:00"


def test_a_future_or_garbage_as_of_time_is_said_on_the_reports_page(web: Web) -> None:
    browser = web.browser("attorney")
    with web.database.read() as session:
        before = session.scalar(select(func.count()).where(Event.kind == "report-generated"))
    for as_of, message in (("2031-01-01 09:00", "in the future"),
                           ("yesterday-ish <b>", "not a date")):
        answer = browser.post("/downloads/report", {"format": "pdf", "as_of": as_of,
                                                    "order": "1"})
        assert answer.status_code == 400
        assert 'role="alert"' in answer.text and message in answer.text, answer.text[:2000]
        assert "attachment" not in answer.headers.get("Content-Disposition", "")
        assert "<b>" not in answer.text.split('id="as_of"')[1][:200]
    refused = browser.post("/downloads/report", {"format": "docx", "order": "1"})
    assert refused.status_code == 400 and "choose PDF, HTML or CSV" in refused.text
    with web.database.read() as session:
        assert session.scalar(select(func.count()).where(
            Event.kind == "report-generated")) == before


# ---------------------------------------------------------------- where each role finds them

NAV = {"/intake/import": "Import", "/intake/person": "Add a person",
       "/downloads/report": "Court report", "/bonds": "Bonds", "/hearings": "Hearings"}
SEES = {"staff": {"/intake/import", "/intake/person"},
        "attorney": set(NAV),
        "admin": {"/bonds", "/hearings"},
        "viewer": set()}


def test_each_role_finds_in_the_navigation_the_new_pages_it_may_open(web: Web) -> None:
    for role, pages in SEES.items():
        browser = web.browser(role)
        nav = browser.get("/orders").text.split('<nav aria-label="Main">')[1].split("</nav>")[0]
        shown = {path for path, word in NAV.items() if f'href="{path}">{word}</a>' in nav}
        assert shown == pages, role
        for path in NAV:
            assert browser.get(path).status_code == (200 if path in pages else 403), (role, path)


def test_an_xlsx_class_list_is_previewed_like_a_csv(web: Web, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in (HEADER + NEW).splitlines():
        sheet.append(line.split(","))
    book.save(tmp_path / "list.xlsx")
    browser = web.browser("staff")
    preview = browser.post("/intake/import/preview",
                           {"file": (io.BytesIO((tmp_path / "list.xlsx").read_bytes()),
                                     "December list.xlsx"), "order": "1"},
                           content_type="multipart/form-data")
    assert preview.status_code == 200, preview.text[:2000]
    assert "New people 1 Updated 0 (0 fields) Unchanged 0" in _text(preview.text)
    assert browser.post("/intake/import/confirm",
                        {"token": _token(preview.text), "order": "1"}).status_code == 303
    assert _counts(web)[0] == len(web.ids) + 1
