#!/usr/bin/env python3
"""The outside world of `make demo`: citizens writing by WhatsApp and SMS, and Meta's Graph API.

Subcommands (each prints nothing personal beyond the demo's fictional reporters):

  graph PORT LOG            a stand-in for the WhatsApp Cloud API's messages endpoint: every
                            reply central sends is appended to LOG as a JSON line and answered
                            with a wamid, as Meta would (runs until killed)
  whatsapp URL SECRET FILE  posts each WhatsApp complaint of FILE (JSON lines) to central's
                            webhook, signed with X-Hub-Signature-256 like Meta's posts
  sms INBOX FILE            drops each SMS complaint of FILE into Gammu's dummy phone inbox
  identity ...              the same, for each reporter's reply with name and NIK
  reply CHANNEL PHONE TEXT  one more message from a reporter (e.g. "sudah")
  typed FILE CHANNELS OUT    writes the complaints of FILE on CHANNELS (comma-separated) to OUT,
                            for the operator to type in with `sambat intake --batch`
  tickets FILE LOG DB TYPED prints "TICKET office tier topic" per complaint of FILE, in order:
                            the ticket from the replies each reporter received (LOG: WhatsApp,
                            DB: Gammu's sentitems), or for typed complaints the ticket
                            `sambat intake` printed (TYPED, in order); exits 1 while some
                            reporter has no ticket yet
  replies PHONE LOG DB      prints every reply a reporter received, oldest first
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import sqlite3
import sys
import time
import urllib.request

TICKET = re.compile(r"\b[A-Z]{2,5}-\d{6}-\d{4}\b")


def complaints(path, channel=None):
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row for row in rows if channel is None or row["channel"] == channel]


def international(phone):
    """WhatsApp ids and Gammu numbers as 62…, whatever the data file wrote."""
    digits = re.sub(r"\D", "", phone)
    return "62" + digits[1:] if digits.startswith("0") else digits


def complaint_text(row):
    """The message as the citizen typed it (the data file's location is the operator's note)."""
    return row["text"]


def identity_text(row):
    return f"Nama: {row['name']}, NIK: {row['nik']}"


# --- WhatsApp ---------------------------------------------------------------------------------


def post_whatsapp(url, secret, messages):
    """One webhook POST per message, as Meta sends them: raw body signed with the app secret."""
    for wamid, sender, name, text in messages:
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "DEMO-WABA",
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "6232100000", "phone_number_id": "100200300"},
                        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                        "messages": [{
                            "from": sender, "id": wamid, "timestamp": str(int(time.time())),
                            "type": "text", "text": {"body": text},
                        }],
                    },
                }],
            }],
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + signature,
        })
        for attempt in range(20):
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            sys.exit(f"demo_doors: central did not take WhatsApp message {wamid}")


def read_secret(path):
    with open(path, "rb") as handle:
        return handle.read().strip()


# --- Gammu's dummy phone ----------------------------------------------------------------------


def inject_sms(inbox, number, text, slot):
    """An SMS in Gammu's backup format (UTF-16BE hex), as the dummy phone receives it."""
    encoded = text.encode("utf-16-be").hex().upper()
    lines = ["[SMSBackup000]", 'SMSC = "+6281100000"', "State = UnRead", f'Number = "+{number}"',
             "Coding = Default", "Folder = 1", "Sent = " + time.strftime("%Y%m%dT%H%M%S")]
    for index in range(0, len(encoded), 200):
        lines.append(f"Text{index // 200:02d} = {encoded[index:index + 200]}")
    partial = os.path.join(inbox, f".{slot}")
    with open(partial, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
    os.rename(partial, os.path.join(inbox, str(slot)))


def next_slot(inbox):
    used = [int(name) for name in os.listdir(inbox) if name.isdigit()]
    return max(used, default=0) + 1


# --- what reporters received ------------------------------------------------------------------


def received(log, database):
    """(number, text) of every reply, WhatsApp first then SMS, each oldest first."""
    replies = []
    if log and os.path.exists(log):
        with open(log, encoding="utf-8") as handle:
            replies += [(entry["to"], entry["text"]) for entry in map(json.loads, handle) if entry]
    if database and os.path.exists(database):
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            # A long reply is sent in parts, one sentitems row each under the same ID.
            rows = connection.execute(
                "SELECT DestinationNumber, group_concat(TextDecoded, '') FROM "
                "(SELECT * FROM sentitems ORDER BY ID, SequencePosition) GROUP BY ID ORDER BY ID").fetchall()
        except sqlite3.Error:
            rows = []
        finally:
            connection.close()
        replies += [(international(number), text or "") for number, text in rows]
    return replies


def serve_graph(port, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        counter = 0

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            text = body.get("text", {}).get("body")
            if text is None:  # a template: its one parameter is the notice
                parameters = body.get("template", {}).get("components", [{}])[0].get("parameters", [{}])
                text = parameters[0].get("text", "")
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"to": body.get("to", ""), "text": text}, ensure_ascii=False) + "\n")
            Handler.counter += 1
            answer = json.dumps({"messaging_product": "whatsapp",
                                 "messages": [{"id": f"wamid.DEMO-OUT-{Handler.counter}"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *arguments):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def main(arguments):
    command = arguments[0] if arguments else ""
    if command == "graph":
        serve_graph(arguments[1], arguments[2])
    elif command == "whatsapp":
        url, secret, path = arguments[1:4]
        post_whatsapp(url, read_secret(secret), [
            (f"wamid.DEMO-IN-{index}", international(row["phone"]), row["name"].split()[0], complaint_text(row))
            for index, row in enumerate(complaints(path, "whatsapp"))])
    elif command == "sms":
        inbox, path = arguments[1:3]
        for row in complaints(path, "sms"):
            inject_sms(inbox, international(row["phone"]), complaint_text(row), next_slot(inbox))
    elif command == "identity":
        channel, target, path = arguments[1:4]
        rows = complaints(path, channel)
        if channel == "whatsapp":
            post_whatsapp(target, read_secret(arguments[4]), [
                (f"wamid.DEMO-ID-{index}", international(row["phone"]), row["name"].split()[0], identity_text(row))
                for index, row in enumerate(rows)])
        else:
            for row in rows:
                inject_sms(target, international(row["phone"]), identity_text(row), next_slot(target))
    elif command == "reply":
        channel, target, phone, text = arguments[1:5]
        if channel == "whatsapp":
            post_whatsapp(target, read_secret(arguments[5]),
                          [(f"wamid.DEMO-RE-{time.time_ns()}", international(phone), "Pelapor", text)])
        else:
            inject_sms(target, international(phone), text, next_slot(target))
    elif command == "typed":
        path, channels, out = arguments[1:4]
        wanted = channels.split(",")
        with open(out, "w", encoding="utf-8") as handle:
            for row in complaints(path):
                if row["channel"] in wanted:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif command == "tickets":
        path, log, database, typed_path = arguments[1:5]
        typed = []
        if os.path.exists(typed_path):
            with open(typed_path, encoding="utf-8") as handle:
                typed = [line.split()[0] for line in handle if line.strip()]
        typed_channels = set()
        if os.path.exists(typed_path + ".channels"):
            with open(typed_path + ".channels", encoding="utf-8") as handle:
                typed_channels = set(handle.read().strip().split(","))
        first = {}
        for number, text in received(log, database):
            match = TICKET.search(text)
            if match and number not in first:
                first[number] = match.group(0)
        missing = 0
        lines = []
        for row in complaints(path):
            if row["channel"] in typed_channels:
                ticket = typed.pop(0) if typed else None
            else:
                ticket = first.get(international(row["phone"]))
            if ticket is None:
                missing += 1
                continue
            lines.append(f"{ticket} {row['office']} {row['tier']} {row['topic'].replace(' ', '_')}")
        if missing:
            sys.exit(1)
        print("\n".join(lines))
    elif command == "replies":
        phone, log, database = arguments[1:4]
        for number, text in received(log, database):
            if number == international(phone):
                print(text)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
