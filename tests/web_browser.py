"""One headless Chromium tab kept open across pages, for the browser workspace test.

Built on tests.fixtures_dashboard.Chromium (DevTools over a pipe, housekeeping
traffic sent to a proxy that answers nothing): the tab keeps its cookies from
page to page, fills and submits forms, picks a file for an upload, and keeps
every request and console error it saw.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.fixtures_dashboard import Chromium


class Tab:
    def __init__(self, chromium: Chromium, size: tuple[int, int] = (390, 844)) -> None:
        self.chromium = chromium
        self.target = chromium.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = chromium.call("Target.attachToTarget",
                                     {"targetId": self.target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Log", "Runtime", "DOM"):
            self.call(f"{domain}.enable")
        # A phone's screen: the pages must work there too.
        self.call("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                         "deviceScaleFactor": 1, "mobile": True})
        self.requests: list[str] = []
        self.errors: list[str] = []

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.chromium.call(method, params, session=self.session)

    def _collect(self) -> None:
        for event in self.chromium._events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                self.errors.append(params["entry"].get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                self.errors.append(json.dumps(params.get("args", []))[:200])
            elif method == "Runtime.exceptionThrown":
                self.errors.append(params["exceptionDetails"].get("text", "exception"))
        self.chromium._events.clear()

    def _loaded_after(self, action: Any) -> None:
        self._collect()
        action()
        self.chromium._wait_for("Page.loadEventFired", self.session)
        time.sleep(0.2)
        self.chromium._drain()
        self._collect()

    def go(self, url: str) -> None:
        self._loaded_after(lambda: self.call("Page.navigate", {"url": url}))

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def fill(self, fields: dict[str, str]) -> None:
        for selector, value in fields.items():
            self.js(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    def click(self, selector: str) -> None:
        """Click a submit button or link and wait for the next page."""
        self._loaded_after(lambda: self.js(f"document.querySelector({json.dumps(selector)})"
                                           ".click()"))

    def choose_file(self, selector: str, path: Path) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        self.call("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node})

    @property
    def text(self) -> str:
        return self.js("document.body.innerText")

    @property
    def url(self) -> str:
        return self.js("location.href")

    def close(self) -> None:
        self.chromium.call("Target.closeTarget", {"targetId": self.target})
