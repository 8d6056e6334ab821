"""`bondtrack status` is what people wait for: it loads only what it shows."""

from __future__ import annotations

import os
import subprocess
import sys

# Readers and verbs status never calls: a spreadsheet reader (zip, XML), the stage verbs.
NOT_FOR_STATUS = ("workflow.tables", "workflow.tracking", "workflow.facilities", "openpyxl",
                  "xml.etree.ElementTree")


def test_status_imports_no_spreadsheet_reader(  # type: ignore[no-untyped-def]
        cli, court_order) -> None:
    for args in (["status"], ["status", "--json"]):
        code = (
            "import sys\n"
            "from workflow.cli import main\n"
            "try:\n"
            f"    main({args!r}, prog_name='bondtrack')\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            f"print('LOADED=' + ','.join(m for m in {NOT_FOR_STATUS!r} if m in sys.modules),"
            " file=sys.stderr)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr[-300:]
        assert proc.stderr.rsplit("LOADED=", 1)[1].strip() == "", args
