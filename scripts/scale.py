#!/usr/bin/python3
"""make scale: a year of a city on one machine, as separate node processes (scale issue, point 3).

1. Generates keys and configurations for central, N offices (opd0 ...) and the mayor, and
   writes a year of history (by default 1,000,000 cases and 10,000,000 ops) into central's
   and every office's store (`sambat bench scale-history`): each office holds its cases and
   has applied central's feed to its end.
2. Starts central and the offices as `sambat run` processes and waits until every office's
   link is up.
3. Enrols nothing new, but starts the mayor on an empty store, as on a new PC, and times its
   back-fill of central's whole feed.
4. With everything idle: the resident memory (RSS) of central, the offices and the mayor.
5. Restarts central and times until all N + 1 nodes are connected again, and what each
   node's reconnect cost on the wire (sync bytes sent and received from central's stop
   until a second after the last node is back: the new session's HELLO, WELCOME and, for
   the mayor, its first NODE_HEALTH report; a ping may fall in the window too).
6. Stops the mayor and times its reads at that size (`sambat bench reads --store`): the
   dashboard's first page and the overdue listing, among others.

Prints one JSON object (also written to DIR/scale.json) and a table. Uses only the standard
library. Usage:

  scripts/scale.py [--dir DIR] [--cases N] [--ops-per-case K] [--offices M] [--bin PATH] [--keep]
                   [--idle-seconds S]

With --dir an existing run's history is reused (the stores are kept after the run); without
it a temporary directory is used and removed at the end unless --keep.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(text):
    print(f"[scale {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port():
    """A port below the ephemeral range that was free a moment ago: a port the kernel hands out
    for bind(0) may be taken as the source port of any outgoing connection before central
    binds it."""
    for _ in range(200):
        port = random.randint(20_000, 31_999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("scale: no free port between 20000 and 32000")


class Run:
    def __init__(self, args):
        self.args = args
        self.sambat = os.path.abspath(args.bin)
        self.dir = os.path.abspath(args.dir)
        self.offices = [f"opd{index}" for index in range(args.offices)]
        self.nodes = ["central", *self.offices, "mayor"]
        self.processes = {}
        self.figures = {}

    # --- files --------------------------------------------------------------------------

    def data(self, node):
        return os.path.join(self.dir, "data", node)

    def config(self, node):
        return os.path.join(self.dir, "config", f"{node}.yaml")

    def status(self, node):
        try:
            with open(os.path.join(self.data(node), "status.json"), encoding="utf-8") as file:
                return json.load(file)
        except (OSError, ValueError):
            return None

    def sambat_run(self, *arguments):
        result = subprocess.run([self.sambat, *arguments], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"scale: sambat {' '.join(arguments[:3])} failed: {result.stderr.strip()}")
        return result.stdout

    def prepare(self):
        for folder in ("config", "logs", "keys/central"):
            os.makedirs(os.path.join(self.dir, folder), exist_ok=True)
        for node in self.nodes:
            os.makedirs(self.data(node), exist_ok=True)
            key = os.path.join(self.data(node), "curve.key")
            if not os.path.exists(key):
                self.sambat_run("keys", "generate", "--out", key, "--node", node)
        identity = os.path.join(self.dir, "keys/central/identity.key")
        if not os.path.exists(identity):
            self.sambat_run("keys", "identity", "--out", identity)
        central_key = self.sambat_run("keys", "public", "--key", os.path.join(self.data("central"), "curve.key")).strip()
        port_file = os.path.join(self.dir, "config", "port")
        if not os.path.exists(port_file):
            with open(port_file, "w") as file:
                file.write(str(free_port()))
        port = int(open(port_file).read())
        directory = os.path.join(self.dir, "config", "opd-directory.yaml")
        with open(directory, "w", encoding="utf-8") as file:
            file.write("offices:\n")
            for office in self.offices:
                file.write(f"  - code: {office}\n    name: OPD {office[3:]}\n    handles: [lampu jalan]\n")
        routing = os.path.join(self.dir, "config", "routing.yaml")
        with open(routing, "w", encoding="utf-8") as file:
            file.write(f"rules:\n  - office: {self.offices[0]}\n    keywords: [lampu jalan]\n")
        reference = f"""reference:
  directory: {directory}
  deadlines: {ROOT}/Config/deadlines.yaml
  holidays: {ROOT}/Config/holidays.yaml
"""
        for node in self.nodes:
            role = "central" if node == "central" else "mayor" if node == "mayor" else "office"
            text = f"""node:
  id: {node}
  role: {role}
  data_dir: {self.data(node)}
  key_file: {self.data(node)}/curve.key
  log_level: {"info" if node == "central" else "warning"}
"""
            if role == "central":
                text += f"""sync:
  bind: tcp://127.0.0.1:{port}
identity:
  key_file: {identity}
""" + reference.replace("reference:\n", f"reference:\n  routing: {routing}\n")
            else:
                text += f"""central:
  id: central
  endpoint: tcp://127.0.0.1:{port}
  public_key: "{central_key}"
""" + reference
            with open(self.config(node), "w", encoding="utf-8") as file:
                file.write(text)

    def write_history(self):
        marker = os.path.join(self.dir, "history.json")
        if os.path.exists(marker):
            history = json.load(open(marker))
            log(f"reusing the history in {self.dir}: {history['ops']} ops over {history['cases']} cases")
            if (history["cases"], history["offices"]) != (self.args.cases, self.args.offices):
                raise SystemExit("scale: --dir holds a history of another size; use a new directory")
            return history
        log(f"writing the history: {self.args.cases} cases, {self.args.cases * self.args.ops_per_case} ops, "
            f"{self.args.offices} offices (the longest step)")
        # Its progress goes to standard error, straight through.
        result = subprocess.run(
            [self.sambat, "bench", "scale-history", "--root", self.dir, "--cases", str(self.args.cases),
             "--ops-per-case", str(self.args.ops_per_case), "--offices", str(self.args.offices)],
            stdout=subprocess.PIPE, text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"scale: sambat bench scale-history failed ({result.returncode})")
        history = json.loads(result.stdout.strip().splitlines()[-1])
        with open(marker, "w") as file:
            json.dump(history, file)
        log(f"history written in {history['seconds']} s")
        return history

    # --- processes ----------------------------------------------------------------------

    def start(self, node):
        log_file = open(os.path.join(self.dir, "logs", f"{node}.log"), "ab")
        self.processes[node] = subprocess.Popen(
            [self.sambat, "run", "--config", self.config(node)], stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.processes[node]

    def stop(self, node, timeout=60):
        process = self.processes.pop(node, None)
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{node} did not stop within {timeout} s; killing it")
            process.kill()
            process.wait()

    def stop_all(self):
        for node in list(self.processes):
            self.processes[node].send_signal(signal.SIGTERM)
        for node in list(self.processes):
            self.stop(node)

    def memory_mib(self, node, field="Rss"):
        """A field of /proc/PID/smaps_rollup in MiB: Rss counts the binary's shared pages in
        every process; Pss shares them out; Private_Dirty is the process's own memory."""
        process = self.processes.get(node)
        try:
            with open(f"/proc/{process.pid}/smaps_rollup") as file:
                for line in file:
                    if line.startswith(f"{field}:"):
                        return int(line.split()[1]) / 1024
        except (OSError, AttributeError):
            return None
        return None

    def wait_until(self, what, seconds, condition, poll=0.1):
        deadline = time.monotonic() + seconds
        while not condition():
            for node, process in self.processes.items():
                if process.poll() is not None:
                    raise SystemExit(f"scale: {node} exited ({process.returncode}) while waiting for {what}; "
                                     f"see {self.dir}/logs/{node}.log")
            if time.monotonic() > deadline:
                raise SystemExit(f"scale: {what} did not happen within {seconds} s (logs: {self.dir}/logs)")
            time.sleep(poll)
        return time.monotonic()

    def linked(self, node, pid=None, since_ms=0):
        status = self.status(node)
        return bool(status and status.get("running") and status.get("linkUp")
                    and status.get("updatedAt", 0) >= since_ms and (pid is None or status.get("pid") == pid))

    def connected_at_central(self, pid):
        status = self.status("central")
        if not status or status.get("pid") != pid or not status.get("running"):
            return 0
        return len(status.get("connectedPeers", []))

    def mayor_checkpoint(self):
        path = os.path.join(self.data("mayor"), "sambat.sqlite")
        try:
            database = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                row = database.execute("SELECT position FROM checkpoint WHERE peer = 'central'").fetchone()
            finally:
                database.close()
        except sqlite3.Error:
            return 0
        return row[0] if row else 0

    def sync_bytes(self, node):
        status = self.status(node) or {}
        return (status.get("syncBytesSent") or 0) + (status.get("syncBytesReceived") or 0)

    # --- the run ------------------------------------------------------------------------

    def run(self):
        figures = self.figures
        figures.update({"cases": self.args.cases, "ops": self.args.cases * self.args.ops_per_case,
                        "offices": self.args.offices})
        self.prepare()
        history = self.write_history()
        figures["history_write_s"] = history["seconds"]
        mayor_head = history["mayor_feed_head"]

        log("starting central and the offices")
        started = time.monotonic()
        central = self.start("central")
        self.wait_until("central's start", 300, lambda: (self.status("central") or {}).get("pid") == central.pid)
        for office in self.offices:
            self.start(office)
        self.wait_until("every office's link", 300, lambda: all(self.linked(office) for office in self.offices))
        figures["offices_linked_after_start_s"] = round(time.monotonic() - started, 2)
        refused = [office for office in self.offices if (self.status(office) or {}).get("centralRefusal")]
        if refused:
            raise SystemExit(f"scale: central refused {refused}")

        log(f"the mayor back-fills {mayor_head} feed entries on an empty store")
        # A mayor's node re-enrolled on a new PC: nothing of an earlier run's mayor is kept.
        mayor_data = self.data("mayor")
        for name in os.listdir(mayor_data):
            if name != "curve.key":
                os.remove(os.path.join(mayor_data, name))
        begin = time.monotonic()
        self.start("mayor")
        last_report = begin
        def caught_up():
            nonlocal last_report
            position = self.mayor_checkpoint()
            if time.monotonic() - last_report > 30:
                log(f"  mayor at {position} of {mayor_head}")
                last_report = time.monotonic()
            return position >= mayor_head
        finished = self.wait_until("the mayor's back-fill", 3600, caught_up, poll=0.25)
        figures["mayor_backfill_s"] = round(finished - begin, 1)
        figures["mayor_backfill_ops_per_s"] = int(mayor_head / (finished - begin))
        self.wait_until("the mayor's link", 60, lambda: self.linked("mayor"))

        log(f"idle for {self.args.idle_seconds:g} s, then memory")
        time.sleep(self.args.idle_seconds)
        office_rss = [self.memory_mib(office) for office in self.offices]
        office_private = [self.memory_mib(office, "Private_Dirty") for office in self.offices]
        figures["central_rss_mib"] = round(self.memory_mib("central"), 1)
        figures["central_private_mib"] = round(self.memory_mib("central", "Private_Dirty"), 1)
        figures["office_rss_mib_median"] = round(statistics.median(office_rss), 1)
        figures["office_rss_mib_max"] = round(max(office_rss), 1)
        figures["office_private_mib_max"] = round(max(office_private), 1)
        figures["mayor_rss_mib"] = round(self.memory_mib("mayor"), 1)

        log("restarting central")
        linked_nodes = [*self.offices, "mayor"]
        self.stop("central")
        # A node's counters are taken once its status file was rewritten after central
        # stopped (every second), so the window holds the reconnect and nothing before it:
        # not a ping, nor the mayor's periodic NODE_HEALTH report (every 5 s) of the old session.
        stopped_ms = int(time.time() * 1000)
        self.wait_until("node status after central stopped", 30,
                        lambda: all((self.status(node) or {}).get("updatedAt", 0) >= stopped_ms + 100
                                    for node in linked_nodes))
        before = {node: self.sync_bytes(node) for node in linked_nodes}
        restart = time.monotonic()
        central = self.start("central")
        up = self.wait_until("central's restart", 300,
                             lambda: (self.status("central") or {}).get("pid") == central.pid, poll=0.05)
        everyone = self.wait_until("all nodes connected again", 300,
                                   lambda: self.connected_at_central(central.pid) == len(linked_nodes), poll=0.05)
        figures["central_restart_to_status_s"] = round(up - restart, 2)
        figures["reconnect_all_after_restart_s"] = round(everyone - restart, 2)
        # Every node's status file is rewritten each second: wait for two rewrites.
        restart_ms = int(time.time() * 1000)
        self.wait_until("fresh node status", 30,
                        lambda: all(self.linked(node, since_ms=restart_ms + 1000) for node in linked_nodes))
        costs = [self.sync_bytes(node) - before[node] for node in linked_nodes]
        figures["reconnect_bytes_median"] = int(statistics.median(costs))
        figures["reconnect_bytes_max"] = max(costs)

        log("stopping the mayor to time its reads at this size")
        self.stop("mayor")
        reads = subprocess.run(
            [self.sambat, "bench", "reads", "--config", self.config("mayor"),
             "--cases", str(self.args.cases), "--ops-per-case", str(self.args.ops_per_case),
             "--offices", str(self.args.offices), "--json"],
            capture_output=True, text=True,
        )
        if reads.returncode != 0:
            raise SystemExit(f"scale: bench reads failed: {reads.stderr.strip()}")
        figures["mayor_reads"] = json.loads(reads.stdout.strip().splitlines()[-1])
        self.stop_all()
        figures["total_s"] = round(time.monotonic() - started + history["seconds"], 1)
        return figures


def main():
    parser = argparse.ArgumentParser(description="make scale: a year of a city as separate node processes.")
    parser.add_argument("--dir", help="the run's directory (reused if it holds a history)")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--ops-per-case", type=int, default=10)
    parser.add_argument("--offices", type=int, default=60)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release/sambat"))
    parser.add_argument("--keep", action="store_true", help="keep a temporary directory")
    parser.add_argument("--idle-seconds", type=float, default=75,
                        help="idle time before memory is read (75: an idle node gives its caches back after 60 s)")
    args = parser.parse_args()
    if args.cases <= 0 or args.offices <= 0 or args.ops_per_case < 6:
        parser.error("--cases and --offices must be positive, --ops-per-case at least 6")
    temporary = args.dir is None
    if temporary:
        args.dir = tempfile.mkdtemp(prefix="sambat-scale-", dir="/var/tmp")
    run = Run(args)
    try:
        figures = run.run()
    finally:
        run.stop_all()
    with open(os.path.join(run.dir, "scale.json"), "w") as file:
        json.dump(figures, file, indent=2)
    print(json.dumps(figures))
    for name, value in figures.items():
        if name != "mayor_reads":
            print(f"  {name:34} {value}", file=sys.stderr)
    for name, value in figures["mayor_reads"].items():
        print(f"  mayor_reads.{name:22} {value}", file=sys.stderr)
    if temporary and not args.keep:
        shutil.rmtree(run.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
