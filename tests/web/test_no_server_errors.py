"""No server errors, no silent damage: a closed pipe, garbage in every form, empty files,
letters that cannot be made, final moves that ask first, and a demo that keeps to its folder."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

BONDTRACK = Path(sys.executable).parent / "bondtrack"


@pytest.mark.parametrize("args", [("list", "--json"), ("list", "--csv"), ("list",),
                                  ("order", "list", "--json"), ("status",)])
def test_a_closed_pipe_ends_any_command_quietly(court_order, args) -> None:  # type: ignore[no-untyped-def]
    reader, writer = os.pipe()
    os.close(reader)  # `| head` that has already gone away
    try:
        done = subprocess.run([str(BONDTRACK), *args], stdout=writer, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(writer)
    assert done.stderr == "", done.stderr
    assert done.returncode in (0, 1)


def _letters(browser, **fields):  # type: ignore[no-untyped-def]
    return browser.post("/downloads/letters", {"format": "html", "order": "1", **fields})


@pytest.mark.parametrize("fields, message", [
    ({"kind": "client", "a_number": "A-999-999-999"}, "A-number"),
    ({"kind": "client", "a_number": "garbage <b>"}, "A-number"),
    ({"kind": "client", "facility": "NO SUCH PLACE"}, "facility"),
    ({"kind": "client", "stage": "ON_THE_MOON"}, "no stage"),
    ({"kind": "demand", "stage": "RELEASED"}, "outstanding"),
    ({"kind": "ransom"}, "choose a kind"),
    ({"kind": "client", "format": "docx"}, "choose a kind"),
])
def test_letter_filters_that_make_nothing_say_why_on_the_same_page(web, fields, message) -> None:  # type: ignore[no-untyped-def]
    answer = _letters(web.browser("attorney"), **fields)
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text and message in answer.text, answer.text[:3000]
    assert '<form method="post" action="/downloads/letters"' in answer.text
    assert "attachment" not in answer.headers.get("Content-Disposition", "")


def test_an_obligor_letter_for_a_released_person_says_why(web, cli) -> None:  # type: ignore[no-untyped-def]
    cli("locate", "A200000003", "--facility", "EAZ")
    cli("bond", "A200000003", "--obligor", "Rosa Núñez", "--obligor-phone", "+1 773-555-0101")
    cli("post", "A200000003", "--receipt", "I305-0042")
    cli("release", "A200000003")
    answer = _letters(web.browser("attorney"), kind="obligor", a_number="A200000003")
    assert answer.status_code == 400 and "no obligor letter to make" in answer.text
    assert '<form method="post" action="/downloads/letters"' in answer.text


class _Forms(HTMLParser):
    """Every form of a page: its action and the names of its fields (file inputs apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, set[str], set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form" and (named.get("method") or "get").lower() == "post":
            self.forms.append((named.get("action") or "", set(), set()))
        elif tag in ("input", "select", "textarea", "button") and self.forms and named.get("name"):
            _, fields, files = self.forms[-1]
            (files if named.get("type") == "file" else fields).add(named["name"] or "")


GARBAGE = ["", "-1", "99999999999999999999999", "A-999-999-999 💥", "\x00'; DROP TABLE x; --",
           "<script>alert(1)</script>", "2025-13-45 25:61", "x" * 5000]
PAGES = ["/", "/orders", "/orders/1", "/people?order=1", "/people/{person}", "/bulk/apply",
         "/bulk/reconcile", "/intake/import", "/intake/person", "/downloads/letters",
         "/downloads/report", "/bonds", "/hearings", "/outbox", "/alerts", "/users", "/account",
         "/queue", "/caseloads", "/locator"]
SIGN_OUT = {"/logout", "/logout/everywhere"}


def _forms(browser, person: int) -> dict[str, tuple[set[str], set[str]]]:  # type: ignore[no-untyped-def]
    found: dict[str, tuple[set[str], set[str]]] = {}
    for page in PAGES:
        answer = browser.get(page.format(person=person))
        if answer.status_code != 200:
            continue
        parser = _Forms()
        parser.feed(answer.text)
        for action, fields, files in parser.forms:
            seen = found.setdefault(action.split("?")[0], (set(), set()))
            seen[0].update(fields - {"csrf"})
            seen[1].update(files)
    return found


def _every_post_rule(web, person: int) -> set[str]:  # type: ignore[no-untyped-def]
    """Every POST route of the app, its ids filled in (a person of the order, or none)."""
    paths = set()
    for rule in web.app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            path = re.sub(r"<int:detainee_id>", str(person), rule.rule)
            path = re.sub(r"<int:\w+>", "999", path)
            paths.add(re.sub(r"<\w+>", "nope", path))
    return paths


def test_garbage_in_every_field_of_every_form_never_answers_a_server_error(web) -> None:  # type: ignore[no-untyped-def]
    web.app.testing = False  # a crash answers 500 as in production, and the walk goes on
    crashed: list[tuple[str, str, str, int]] = []
    posted: set[str] = set()
    for role in ("attorney", "admin"):  # staff's forms are among the attorney's
        browser = web.browser(role)
        person = web.ids[0]
        forms = _forms(browser, person)
        names = set().union(*(fields for fields, _ in forms.values()))
        targets = {path: forms.get(path, (names, {"file"})) for path in
                   set(forms) | _every_post_rule(web, person)}
        for path, (fields, files) in sorted(targets.items()):
            if path in SIGN_OUT:
                continue
            for value in GARBAGE:
                data: dict[str, object] = {name: value for name in fields}
                for name in files:
                    data[name] = (io.BytesIO(value.encode("utf-8", "replace")), value[:20] + ".csv")
                answer = browser.post(path, data, content_type="multipart/form-data" if files
                                      else None)
                posted.add(path)
                if answer.status_code >= 500:
                    crashed.append((role, path, value[:20], answer.status_code))
    assert not crashed, sorted({(path, value) for _, path, value, _ in crashed})
    assert {"/downloads/letters", f"/people/{web.ids[0]}/locate", "/users/role",
            "/bulk/apply/preview", "/account/password", "/intake/import/preview",
            "/intake/import/confirm", "/intake/person", "/downloads/report",
            "/caseloads/assign", f"/people/{web.ids[0]}/owner",
            f"/people/{web.ids[0]}/take"} <= posted
    assert any(path.startswith("/locator/") for path in posted)


CUSTODY_HEADER = "A-Number,Facility Code,Facility Name,Status\n"


@pytest.mark.parametrize("command, header", [
    (("import",), "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"),
    (("apply",), "a_number,action,note\n"),
    (("run", "reconcile"), CUSTODY_HEADER),
])
def test_a_file_with_a_header_and_no_rows_is_refused_before_anything_runs(
        web, cli, tmp_path, command, header) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from workflow.record.models import Event

    path = tmp_path / "empty.csv"
    path.write_text(header + "\n,,\n")  # a blank row is no row either
    with web.database.read() as session:
        before = session.scalar(select(func.count()).select_from(Event))
    result = cli(*command, path, ok=False)
    assert result.exit_code == 1
    assert result.output == "Error: empty.csv: no rows under the header: nothing was read\n"
    with web.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == before


def _upload(browser, kind: str, content: str):  # type: ignore[no-untyped-def]
    return browser.post(f"/bulk/{kind}/preview", {"file": (io.BytesIO(content.encode()),
                                                           "list.csv"), "order": "1"},
                        content_type="multipart/form-data")


def test_an_empty_upload_is_refused_in_the_browser(web) -> None:  # type: ignore[no-untyped-def]
    browser = web.browser("staff")
    for kind, header in (("apply", "a_number,action,note\n"), ("reconcile", CUSTODY_HEADER)):
        answer = _upload(browser, kind, header)
        assert answer.status_code == 400 and "no rows under the header" in answer.text
        assert 'name="token"' not in answer.text


def test_a_custody_list_flagging_most_people_missing_needs_a_second_step(web) -> None:  # type: ignore[no-untyped-def]
    from workflow.record.models import Detainee

    browser = web.browser("staff")
    preview = _upload(browser, "reconcile", CUSTODY_HEADER + "A200000003,EAZ,Eloy,held\n")
    assert preview.status_code == 200
    assert "would flag 2 of the 3 people in custody as missing" in preview.text
    assert re.search(r'<input type="checkbox" id="flag_missing" name="flag_missing" value="yes"'
                     r' required>', preview.text)
    token = re.search(r'name="token" value="(\w+)"', preview.text).group(1)  # type: ignore[union-attr]
    refused = browser.post("/bulk/reconcile/confirm", {"token": token, "order": "1"})
    assert refused.status_code == 400 and "tick the box" in refused.text
    assert f'value="{token}"' in refused.text  # the second step, on the same page
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[2]).stage == "INTAKE"
    done = browser.post("/bulk/reconcile/confirm", {"token": token, "order": "1",
                                                    "flag_missing": "yes"})
    assert done.status_code == 303
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[2]).stage == "LOCATED"


def test_the_demo_builds_beside_the_home_in_use(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workflow import demo

    monkeypatch.delenv("BONDTRACK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BONDTRACK_HOME", str(tmp_path / "office" / "bondtrack"))
    assert demo.default_home() == tmp_path / "office" / "bondtrack-demo"
    monkeypatch.delenv("BONDTRACK_HOME")
    assert demo.default_home() == tmp_path / "xdg" / "bondtrack-demo"
    built = demo.prepare_home(tmp_path / "office" / "bondtrack-demo")
    monkeypatch.setenv("BONDTRACK_HOME", str(built))  # exploring the demo: rebuilt in place
    assert demo.default_home() == built


def test_the_demo_removes_only_a_folder_it_made(tmp_path: Path) -> None:
    from workflow import demo
    from workflow.core.errors import BondtrackError

    made = demo.prepare_home(tmp_path / "made")
    (made / "old.db").write_text("last run")
    assert demo.prepare_home(made) == made and not (made / "old.db").exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "bondtrack.db").write_text("real data")
    (precious / demo.MARKER).symlink_to(made / demo.MARKER)  # a marker it did not write there
    linked = tmp_path / "linked"
    linked.symlink_to(made)
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / demo.MARKER).write_text("")
    for folder in (precious, linked, forged):
        with pytest.raises(BondtrackError, match="not a bondtrack demo home"):
            demo.prepare_home(folder)
    assert (precious / "bondtrack.db").read_text() == "real data"
    assert (made / demo.MARKER).is_file() and forged.is_dir()

