"""Headless Chromium driven through chromedriver's W3C WebDriver protocol, with the standard library only.

The system's packages provide both programs (Debian: ``apt-get install chromium chromium-driver``); nothing
is downloaded. The browser test of the HTML report uses this, and so does the command that takes the
screenshots in docs/:

    python -m tests.report.browser report.html docs/html-report-shop.png --height 1400
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
"""The key of a web element reference in WebDriver's JSON."""
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")
"""Chromium flags that work as root in a container, with no network traffic of its own."""


def find_programs() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths when both are installed, else None."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = next((p for p in map(shutil.which, DRIVER_NAMES) if p), None)
    return (browser, driver) if browser and driver else None


class WebDriverError(RuntimeError):
    """chromedriver answered with an error."""


class Browser:
    """One chromedriver process and one browser session: ``with Browser(...) as browser: ...``."""

    def __init__(self, browser: str, driver: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="codelens-chromium-")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready()
            options = {"binary": browser, "args": [*FLAGS, f"--user-data-dir={self.profile}",
                                                   f"--window-size={width},{height}"]}
            capabilities = {"browserName": "chrome", "goog:chromeOptions": options,
                            "goog:loggingPrefs": {"browser": "ALL"}}
            session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
            self.session = f"/session/{session['sessionId']}"
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait_ready(self, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self._call("GET", "/status").get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.1)
        raise WebDriverError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as exc:
            raise WebDriverError(exc.read().decode("utf-8", "replace")) from None

    def close(self) -> None:
        if getattr(self, "session", None):
            try:
                self._call("DELETE", self.session)
            except (OSError, WebDriverError):
                pass
            self.session = None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---------------------------------------------------------------------------------------- the session
    def open(self, url: str) -> None:
        self._call("POST", f"{self.session}/url", {"url": url})

    def find(self, css: str) -> str:
        return self._call("POST", f"{self.session}/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css: str) -> list[str]:
        found = self._call("POST", f"{self.session}/elements", {"using": "css selector", "value": css})
        return [item[ELEMENT] for item in found]

    def click(self, element: str) -> None:
        self._call("POST", f"{self.session}/element/{element}/click")

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"{self.session}/element/{element}/value", {"text": text})

    def clear(self, element: str) -> None:
        self._call("POST", f"{self.session}/element/{element}/clear")

    def displayed(self, element: str) -> bool:
        return self._call("GET", f"{self.session}/element/{element}/displayed")

    def script(self, source: str, *args):
        return self._call("POST", f"{self.session}/execute/sync", {"script": source, "args": list(args)})

    def url(self) -> str:
        return self._call("GET", f"{self.session}/url")

    def refresh(self) -> None:
        self._call("POST", f"{self.session}/refresh")

    def resize(self, width: int, height: int) -> None:
        self._call("POST", f"{self.session}/window/rect", {"width": width, "height": height})

    def console(self) -> list[dict]:
        """The browser's console entries since the last call (level, message)."""
        return self._call("POST", f"{self.session}/se/log", {"type": "browser"})

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self._call("GET", f"{self.session}/screenshot")))
        return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Screenshot a local HTML page in headless Chromium.")
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1200)
    parser.add_argument("--fragment", default="", help="the part after # in the address (a filter or an anchor)")
    args = parser.parse_args(argv)
    programs = find_programs()
    if programs is None:
        raise SystemExit("chromium and chromedriver are not installed: apt-get install chromium chromium-driver")
    with Browser(*programs, width=args.width, height=args.height) as browser:
        browser.open(args.page.resolve().as_uri() + (f"#{args.fragment}" if args.fragment else ""))
        browser.screenshot(args.out)
        errors = [e for e in browser.console() if e.get("level") == "SEVERE"]
    if errors:
        raise SystemExit(f"the page logged errors: {errors}")


if __name__ == "__main__":
    main()
