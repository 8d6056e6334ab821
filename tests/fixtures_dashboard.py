"""A real headless Chromium driven over the DevTools protocol, for the dashboard tests.

Chromium talks DevTools over a pipe (``--remote-debugging-pipe``: commands on
fd 3, replies on fd 4, each message ending in NUL), so no port is opened and
the page's own requests and console messages are seen exactly, apart from
the browser's housekeeping traffic (update checks and the like), which a
proxy on 127.0.0.1 that answers nothing keeps on the machine.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe")


@dataclass
class PageVisit:
    """What a page did when it was opened: its requests, console errors, a probe, a screenshot."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    probe: Any = None
    screenshot: bytes = b""


class Chromium:
    """One headless Chromium; ``visit`` opens a page in a fresh tab and reports what happened."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="bondtrack-chromium-")
        self.blackhole = socket.socket()
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(64)  # never accepted: housekeeping requests stop here
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()

        def wire_pipes() -> None:
            high_in = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        proxy = f"--proxy-server=127.0.0.1:{self.blackhole.getsockname()[1]}"
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, proxy, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire_pipes, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def visit(self, url: str, probe: str, size: tuple[int, int] = (1280, 1800)) -> PageVisit:
        """Open ``url``, wait for it to load, evaluate ``probe`` (a JS expression), screenshot."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = attached["sessionId"]
        for domain in ("Page", "Network", "Log", "Runtime"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                         "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        time.sleep(0.3)  # let late console messages arrive
        self._drain()
        visit = PageVisit()
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                visit.errors.append(params["entry"].get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                visit.errors.append(json.dumps(params.get("args", []))[:200])
            elif method == "Runtime.exceptionThrown":
                visit.errors.append(params["exceptionDetails"].get("text", "exception"))
        result = self.call("Runtime.evaluate", {"expression": probe, "returnByValue": True},
                           session=session)
        visit.probe = result["result"].get("value")
        shot = self.call("Page.captureScreenshot", {"format": "png"}, session=session)
        visit.screenshot = base64.b64decode(shot["data"])
        self.call("Target.closeTarget", {"targetId": target})
        return visit

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        """Send one DevTools command and return its result (events seen meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def _wait_for(self, method: str, session: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method and e.get("sessionId") == session
                      for e in self._events):
            self._events.append(self._receive(deadline))

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self._reader], [], [], 0)
            if not ready and b"\0" not in self._buffer:
                return
            self._events.append(self._receive(time.monotonic() + 5))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._reader], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._writer, self._reader):
            os.close(fd)
        self.blackhole.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_facts(data: bytes) -> tuple[int, int, int]:
    """(width, height, how many distinct pixel rows it has), read without Pillow.

    A blank page is one row repeated; a page of text and charts has a
    different row almost all the way down.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    position, idat = 8, b""
    while position < len(data):
        length = struct.unpack(">I", data[position:position + 4])[0]
        if data[position + 4:position + 8] == b"IDAT":
            idat += data[position + 8:position + 8 + length]
        position += 12 + length
    pixels = zlib.decompress(idat)
    stride = 1 + width * channels * depth // 8
    return width, height, len({pixels[i * stride:(i + 1) * stride] for i in range(height)})


def local_only(requests: list[str]) -> list[str]:
    """The requests that would leave the machine (anything but the file itself and data: URLs)."""
    return [url for url in requests if not url.startswith(("file://", "data:", "about:"))]
