#!/usr/bin/python3
"""Drives the mayor's dashboard in headless Chromium as a person would, and reports what it saw.

Signs in through the form, reads the dashboard (ranking rows, the trend chart, the overdue
list, the sync health of every node), opens the day's recap in print layout and prints it to
PDF, and saves screenshots.
Talks to Chromium over its DevTools protocol (python3-websocket), so nothing is downloaded.

With --operator-base, --operator-login and --operator-password-file it also signs in to the
operator's console at central, reads the queue, and dispatches the first case waiting for
dispatch (verifying it first if it waits for that) to the office of --office-code.
With --office-base, --office-login and --office-password-file it signs in to that office's
console, waits up to 60 s for the dispatched case to arrive, reads its case list and takes a
screenshot of a case with its action forms.

Each part runs only when its options are given; the consoles before the dashboard.

Usage: console_browser.py --screenshots DIR
                          [--base http://127.0.0.1:PORT --login NAME --password-file FILE --date YYYY-MM-DD]
                          [--operator-base URL --operator-login NAME --operator-password-file FILE]
                          [--office-base URL --office-login NAME --office-password-file FILE
                           --office-code CODE]
Prints one JSON object: what each page showed. Exit codes: 0 seen, 1 a page did not behave,
2 Chromium could not be started.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

from free_port import free_port

CHROMIUM = next((c for c in ("chromium", "chromium-browser") if shutil.which(c)), None)


class Page:
    """One browser tab driven over the DevTools protocol."""

    def __init__(self, url):
        self.socket = websocket.create_connection(url, timeout=30)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for_load(self, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.evaluate("document.readyState")
            if state == "complete":
                return
            time.sleep(0.1)
        raise RuntimeError("page did not load")

    def open(self, url):
        self.call("Page.navigate", url=url)
        time.sleep(0.2)
        self.wait_for_load()

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path, width=1280):
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 900)
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=min(height, 4000), deviceScaleFactor=1,
            mobile=False,
        )
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def url(self):
        return self.evaluate("location.pathname + location.search")

    def sign_in(self, login, password):
        """Fills and posts the sign-in form the page shows."""
        self.evaluate(
            "document.querySelector('input[name=name]').value = " + json.dumps(login) + ";"
            + "document.querySelector('input[name=password]').value = " + json.dumps(password) + ";"
            + "document.querySelector('form.signin').submit(); true"
        )
        time.sleep(0.5)
        self.wait_for_load()


def start_chromium(profile):
    port = free_port()
    process = subprocess.Popen(
        [
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
            "--window-size=1280,900", "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                pages = [p for p in json.load(answer) if p.get("type") == "page"]
            if pages:
                return process, pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    return None, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base")
    parser.add_argument("--login")
    parser.add_argument("--password-file")
    parser.add_argument("--date")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--operator-base")
    parser.add_argument("--operator-login")
    parser.add_argument("--operator-password-file")
    parser.add_argument("--office-code", default="dpupr")
    parser.add_argument("--office-base")
    parser.add_argument("--office-login")
    parser.add_argument("--office-password-file")
    arguments = parser.parse_args()
    password = ""
    if arguments.base:
        with open(arguments.password_file, encoding="utf-8") as file:
            password = file.read().strip()
    if CHROMIUM is None:
        print(json.dumps({"error": "chromium is not installed"}))
        return 2
    os.makedirs(arguments.screenshots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="sambat-chromium-")
    process, url = start_chromium(profile)
    if process is None:
        print(json.dumps({"error": "chromium did not start"}))
        return 2
    seen = {}
    try:
        page = Page(url)
        if arguments.operator_base:
            with open(arguments.operator_password_file, encoding="utf-8") as file:
                operator_password = file.read().strip()
            hotline = arguments.operator_base.rstrip("/")
            page.open(hotline + "/")
            page.sign_in(arguments.operator_login, operator_password)
            seen["queue"] = page.evaluate(
                "[...document.querySelectorAll('table.queue tbody tr')].filter(r => r.querySelector('a'))"
                ".map(r => ({ticket: r.querySelector('a').textContent, step: r.children[1].textContent}))"
            )
            page.screenshot(os.path.join(arguments.screenshots, "operator-queue.png"))
            waiting = [e for e in seen["queue"] if e["step"] in ("disposisi", "verifikasi")]
            waiting.sort(key=lambda e: e["step"] != "disposisi")
            if waiting:
                ticket = waiting[0]["ticket"]
                page.open(f"{hotline}/kasus/{ticket}")
                if page.evaluate("document.querySelector('input[name=aksi][value=verifikasi]') !== null"):
                    page.evaluate(
                        "const f = document.querySelector('input[name=aksi][value=verifikasi]').form;"
                        "f.querySelector('select[name=kategori]').value = 'normatif'; f.submit(); true"
                    )
                    time.sleep(0.5)
                    page.wait_for_load()
                page.screenshot(os.path.join(arguments.screenshots, "operator-case.png"))
                page.evaluate(
                    "const f = document.querySelector('input[name=aksi][value=disposisi]').form;"
                    f"f.querySelector('input[name=opd_{arguments.office_code}]').checked = true;"
                    "f.querySelector('textarea[name=instruksi]').value = 'Mohon ditindaklanjuti (dari konsol).';"
                    "f.submit(); true"
                )
                time.sleep(0.5)
                page.wait_for_load()
                seen["operator_done"] = page.evaluate("(document.querySelector('p.done') || {}).textContent || ''")
                seen["dispatched_case"] = ticket
            # Sign out, as a person would before handing over the browser.
            page.evaluate("document.querySelector('form.signout').submit(); true")
            time.sleep(0.3)
            page.wait_for_load()
        if arguments.office_base:
            with open(arguments.office_password_file, encoding="utf-8") as file:
                office_password = file.read().strip()
            office = arguments.office_base.rstrip("/")
            page.open(office + "/")
            page.sign_in(arguments.office_login, office_password)
            listed = "[...document.querySelectorAll('table.cases tbody tr td:first-child a')].map(e => e.textContent)"
            deadline = time.monotonic() + 60
            while seen.get("dispatched_case") and time.monotonic() < deadline:
                if seen["dispatched_case"] in (page.evaluate(listed) or []):
                    break
                time.sleep(1)
                page.open(office + "/")
            seen["office_cases"] = page.evaluate(listed)
            seen["office_sync"] = page.evaluate("(document.querySelector('p.sync') || {}).textContent || ''")
            page.screenshot(os.path.join(arguments.screenshots, "office.png"))
            first = page.evaluate("(document.querySelector('table.cases tbody a') || {}).href || ''")
            if first:
                page.open(first)
                seen["office_case_forms"] = page.evaluate(
                    "[...document.querySelectorAll('section.actions input[name=aksi]')].map(e => e.value)"
                )
                page.screenshot(os.path.join(arguments.screenshots, "office-case.png"))
        if arguments.base:
            base = arguments.base.rstrip("/")
            # A stranger is sent to the sign-in form.
            page.open(base + "/")
            seen["sign_in_url"] = page.url()
            page.screenshot(os.path.join(arguments.screenshots, "sign-in.png"))
            page.sign_in(arguments.login, password)
            seen["after_sign_in_url"] = page.url()
            seen["ranking"] = page.evaluate(
                "[...document.querySelectorAll('table.ranking tbody tr td.office strong')].map(e => e.textContent)"
            )
            seen["chart_bars"] = page.evaluate("document.querySelectorAll('svg.chart rect').length")
            seen["overdue"] = page.evaluate(
                "[...document.querySelectorAll('table.cases tbody tr td:first-child a')].map(e => e.textContent)"
            )
            seen["signed_in_as"] = page.evaluate("(document.querySelector('.who') || {}).textContent || ''")
            seen["sync_health"] = page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('table.health tbody tr')]"
                ".map(r => [r.querySelector('td.office strong').textContent, r.cells[1].textContent]))"
            )
            page.screenshot(os.path.join(arguments.screenshots, "dashboard.png"))
            # A case's timeline, from the dashboard's own link when one is listed.
            page.open(base + "/kasus")
            first = page.evaluate("(document.querySelector('table.cases tbody a') || {}).href || ''")
            if first:
                page.open(first)
                seen["case_timeline_steps"] = page.evaluate("document.querySelectorAll('ol.timeline li').length")
                page.screenshot(os.path.join(arguments.screenshots, "case.png"))
            # The day's recap, as it prints.
            page.open(f"{base}/rekap?tanggal={arguments.date}")
            seen["recap"] = page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('table.summary tr')]"
                ".map(r => [r.querySelector('th').textContent, Number(r.querySelector('td').textContent)]))"
            )
            page.call("Emulation.setEmulatedMedia", media="print")
            seen["recap_print_hides_navigation"] = page.evaluate(
                "getComputedStyle(document.querySelector('header.bar')).display === 'none'"
            )
            page.screenshot(os.path.join(arguments.screenshots, "recap.png"), width=900)
            pdf = base64.b64decode(page.call("Page.printToPDF", printBackground=False)["data"])
            seen["recap_pdf_bytes"] = len(pdf)
            page.call("Emulation.setEmulatedMedia", media="")
        print(json.dumps(seen, ensure_ascii=False))
        return 0
    except Exception as error:  # a page that did not behave: say what was seen so far
        seen["error"] = str(error)
        print(json.dumps(seen, ensure_ascii=False))
        return 1
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
