#!/usr/bin/python3
"""A loopback TCP proxy that breaks Sambat's ZeroMQ links on purpose, for the chaos test.

Each named link (one per office or mayor) gets its own listening port on 127.0.0.1; every
connection to it is forwarded to central's port. While the proxy is in chaos mode, a seeded
scheduler per link injects faults into the byte stream:

- cut:        every connection of the link is reset, and new ones are reset on arrival for
              1-6 s (a partition the node notices at once);
- blackhole:  for 2-8 s bytes vanish in both directions and new connections hang (a
              partition the node must detect by its link timeout); then reset;
- delay:      for 3-10 s every chunk waits 20-400 ms, in order (a slow link);
- drop:       one chunk is discarded (the ZMTP/CURVE stream desynchronises: libzmq must
              notice and reconnect, nothing committed may be lost);
- duplicate:  one chunk (up to 64 KiB, not aligned to frames) is sent twice: the stream is
              garbled or a CURVE frame repeats, which libzmq must refuse (by its nonce)
              and reconnect; nothing may be applied twice;
- replay:     the first 64 KiB a node sent on an earlier connection (CURVE handshake,
              HELLO, uploads) are sent to central again on a new connection of the proxy's
              own, as an eavesdropper would (central must refuse the handshake: nothing
              the recording held may be applied or answered).

With --rate BYTES the proxy is also a slow link, in chaos mode or not: each direction of
every connection carries at most BYTES a second (the graceful-shutdown test uses it so that
a feed lasts long enough to be interrupted, however fast the machine).

Usage: chaos_proxy.py --target PORT --links dpupr,dlh,... --seed N --ports-file PATH [--rate BYTES]
       chaos_proxy.py --self-test   (needs python3-zmq: proves the replay detector can fire)
Commands on stdin, one per line: "chaos" (start injecting), "calm" (stop; connections
heal), "stats PATH" (write the counters as JSON to PATH), "quit".
Exit codes: 0 after quit or end of stdin; 64 bad arguments.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time

CHUNK = 65536


class Link:
    """One node's path to central, with its fault windows and open connections."""

    def __init__(self, name):
        self.name = name
        self.connections = set()
        self.cut_until = 0.0
        self.blackhole_until = 0.0
        self.delay_until = 0.0
        self.delay_range = (0.0, 0.0)
        self.drop_next = False
        self.duplicate_next = False
        self.recording = b""
        self.blackhole_end = None

    def reset_connections(self):
        for connection in list(self.connections):
            connection.abort()
        self.connections.clear()


class Connection:
    """A forwarded TCP connection: two pumps, each an ordered queue with release times."""

    def __init__(self, link, client_writer, server_writer):
        self.link = link
        self.writers = (client_writer, server_writer)
        self.tasks = []
        self.recording = bytearray()

    def abort(self):
        for writer in self.writers:
            try:
                writer.transport.abort()
            except Exception:
                pass
        for task in self.tasks:
            task.cancel()


class Proxy:
    def __init__(self, target, names, seed, rate=None):
        self.target = target
        self.rate = rate
        self.links = {name: Link(name) for name in names}
        # Each link's fault schedule has its own generator, so the seed fixes which faults
        # each link gets and when, whatever the traffic; per-chunk delays draw from another.
        self.schedules = {name: random.Random(seed * 1000 + index) for index, name in enumerate(names)}
        self.delays = random.Random(seed ^ 0x5EED)
        self.chaos = False
        self.counters = {
            "connections": 0,
            "cuts": 0,
            "blackholes": 0,
            "delay_windows": 0,
            "chunks_dropped": 0,
            "chunks_duplicated": 0,
            "chunks_delayed": 0,
            "connections_refused": 0,
            "replays": 0,
            "replays_answered": 0,
            "replays_accepted": 0,
            "bytes_forwarded": 0,
        }
        self.servers = {}

    async def start(self):
        ports = {}
        for name, link in self.links.items():
            server = await asyncio.start_server(
                lambda reader, writer, link=link: self.accept(link, reader, writer), "127.0.0.1", 0
            )
            self.servers[name] = server
            ports[name] = server.sockets[0].getsockname()[1]
        for link in self.links.values():
            asyncio.get_running_loop().create_task(self.schedule(link))
        return ports

    async def accept(self, link, client_reader, client_writer):
        now = time.monotonic()
        if self.chaos and now < link.cut_until:
            self.counters["connections_refused"] += 1
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.counters["connections"] += 1
        connection = Connection(link, client_writer, server_writer)
        link.connections.add(connection)
        loop = asyncio.get_running_loop()
        connection.tasks = [
            loop.create_task(self.pump(connection, client_reader, server_writer, upstream=True)),
            loop.create_task(self.pump(connection, server_reader, client_writer, upstream=False)),
        ]
        await asyncio.gather(*connection.tasks, return_exceptions=True)
        connection.abort()
        link.connections.discard(connection)
        if connection.recording:
            link.recording = bytes(connection.recording)

    async def pump(self, connection, reader, writer, upstream):
        """Forwards one direction; faults decide each chunk's fate as it is read."""
        link = connection.link
        queue = asyncio.Queue()
        sender = asyncio.get_running_loop().create_task(self.send(queue, writer))
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                if upstream and len(connection.recording) < CHUNK:
                    connection.recording += data[: CHUNK - len(connection.recording)]
                now = time.monotonic()
                if self.chaos and now < link.blackhole_until:
                    continue
                if self.chaos and link.drop_next:
                    link.drop_next = False
                    self.counters["chunks_dropped"] += 1
                    continue
                release = now
                if self.chaos and now < link.delay_until:
                    release += self.delays.uniform(*link.delay_range)
                    self.counters["chunks_delayed"] += 1
                queue.put_nowait((release, data))
                if self.chaos and link.duplicate_next:
                    link.duplicate_next = False
                    self.counters["chunks_duplicated"] += 1
                    queue.put_nowait((release, data))
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            sender.cancel()
            raise
        # End of stream: deliver what is queued, then close both sides.
        queue.put_nowait(None)
        await sender
        connection.abort()

    async def send(self, queue, writer):
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                release, data = item
                wait = release - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.rate:
                    # Slices of a tenth of a second's worth, so the link is slow, not bursty.
                    step = max(1, self.rate // 10)
                    for start in range(0, len(data), step):
                        piece = data[start : start + step]
                        writer.write(piece)
                        await writer.drain()
                        await asyncio.sleep(len(piece) / self.rate)
                else:
                    writer.write(data)
                    await writer.drain()
                self.counters["bytes_forwarded"] += len(data)
        except (ConnectionError, OSError):
            return

    async def schedule(self, link):
        """Injects one fault into `link` every 1-6 s while in chaos mode."""
        faults = ["cut"] * 3 + ["blackhole"] * 2 + ["delay"] * 3 + ["drop", "duplicate", "replay"]
        draw = self.schedules[link.name]
        while True:
            await asyncio.sleep(draw.uniform(1.0, 6.0))
            if not self.chaos:
                continue
            fault = draw.choice(faults)
            now = time.monotonic()
            if fault == "cut":
                self.counters["cuts"] += 1
                link.cut_until = now + draw.uniform(1.0, 6.0)
                link.reset_connections()
            elif fault == "blackhole":
                self.counters["blackholes"] += 1
                length = draw.uniform(2.0, 8.0)
                link.blackhole_until = now + length
                if link.blackhole_end:
                    link.blackhole_end.cancel()
                link.blackhole_end = asyncio.get_running_loop().call_later(length, link.reset_connections)
            elif fault == "delay":
                self.counters["delay_windows"] += 1
                link.delay_until = now + draw.uniform(3.0, 10.0)
                low = draw.uniform(0.02, 0.2)
                link.delay_range = (low, low + draw.uniform(0.0, 0.2))
            elif fault == "drop":
                link.drop_next = True
            elif fault == "replay":
                if link.recording:
                    asyncio.get_running_loop().create_task(self.replay(link.recording))
            else:
                link.duplicate_next = True

    async def replay(self, recording):
        """Sends a recorded upstream byte stream to central on a fresh connection and reads
        central's answer for up to 3 s. The replay counts as accepted if central completed
        the CURVE handshake (a READY command) or sent any message."""
        self.counters["replays"] += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            return
        answer = bytearray()
        try:
            # Paced like a real client: the greeting, then the rest once central's greeting
            # is in (libzmq drops a connection that sends past its greeting unasked).
            writer.write(recording[:64])
            await writer.drain()
            deadline = time.monotonic() + 1.0
            while len(answer) < 64 and time.monotonic() < deadline:
                data = await asyncio.wait_for(reader.read(CHUNK), deadline - time.monotonic())
                if not data:
                    break
                answer += data
            writer.write(recording[64:])
            await writer.drain()
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and len(answer) < CHUNK:
                data = await asyncio.wait_for(reader.read(CHUNK), deadline - time.monotonic())
                if not data:
                    break
                answer += data
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
        names = zmtp_command_names(bytes(answer))
        if names:
            self.counters["replays_answered"] += 1
        if "READY" in names or "MESSAGE" in names:
            self.counters["replays_accepted"] += 1

    def calm(self):
        """Ends every fault window; connections stuck in a blackhole are reset to heal."""
        self.chaos = False
        for link in self.links.values():
            if link.blackhole_end:
                link.blackhole_end.cancel()
                link.blackhole_end = None
            if link.blackhole_until > time.monotonic():
                link.reset_connections()
            link.cut_until = link.blackhole_until = link.delay_until = 0.0
            link.drop_next = link.duplicate_next = False


def zmtp_command_names(stream):
    """The names of the ZMTP 3 commands in a peer's byte stream after its 64-byte greeting;
    a data frame is reported as "MESSAGE" (ZMTP 3.1: flags bit 2 marks a command, bit 1 a
    long size)."""
    names = []
    position = 64
    while position + 2 <= len(stream):
        flags = stream[position]
        if flags & 0x02:
            if position + 9 > len(stream):
                break
            size = int.from_bytes(stream[position + 1 : position + 9], "big")
            body = position + 9
        else:
            size = stream[position + 1]
            body = position + 2
        if flags & 0x04:
            if body < len(stream):
                length = stream[body]
                names.append(stream[body + 1 : body + 1 + length].decode("ascii", "replace"))
        else:
            names.append("MESSAGE")
        position = body + size
    return names


def write_atomically(path, payload):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(payload, file)
    os.replace(temporary, path)


async def self_test():
    """Replays a recorded connection to a pyzmq ROUTER, once with CURVE and once without
    security. The detector must count the plain replay as accepted (so it can fire) and the
    CURVE replay as answered but refused. Prints the counts as JSON; exit 0 when both hold."""
    import zmq

    context = zmq.Context()
    results = {}
    for mechanism in ("curve", "null"):
        router = context.socket(zmq.ROUTER)
        dealer = context.socket(zmq.DEALER)
        if mechanism == "curve":
            server_public, server_secret = zmq.curve_keypair()
            client_public, client_secret = zmq.curve_keypair()
            router.curve_server = True
            router.curve_secretkey, router.curve_publickey = server_secret, server_public
            dealer.curve_serverkey = server_public
            dealer.curve_publickey, dealer.curve_secretkey = client_public, client_secret
        port = router.bind_to_random_port("tcp://127.0.0.1")
        proxy = Proxy(port, ["link"], 1)
        ports = await proxy.start()
        loop = asyncio.get_running_loop()
        dealer.connect(f"tcp://127.0.0.1:{ports['link']}")
        dealer.send(b"recorded message")
        await loop.run_in_executor(None, router.recv_multipart)
        dealer.close(linger=0)
        link = proxy.links["link"]
        for _ in range(100):
            if link.recording:
                break
            await asyncio.sleep(0.02)
        await proxy.replay(link.recording)
        results[mechanism] = {key: proxy.counters[key] for key in ("replays", "replays_answered", "replays_accepted")}
        for server in proxy.servers.values():
            server.close()
        router.close(linger=0)
    context.term()
    print(json.dumps(results))
    curve, null = results["curve"], results["null"]
    ok = curve["replays_answered"] == 1 and curve["replays_accepted"] == 0 and null["replays_accepted"] == 1
    return 0 if ok else 1


async def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(await self_test())
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--links", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ports-file", required=True)
    parser.add_argument("--rate", type=int, default=None)
    try:
        arguments = parser.parse_args()
    except SystemExit:
        sys.exit(64)
    if arguments.rate is not None and arguments.rate <= 0:
        sys.exit(64)
    proxy = Proxy(arguments.target, arguments.links.split(","), arguments.seed, arguments.rate)
    write_atomically(arguments.ports_file, await proxy.start())
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command, _, argument = line.strip().partition(" ")
        if command == "chaos":
            proxy.chaos = True
        elif command == "calm":
            proxy.calm()
        elif command == "stats":
            write_atomically(argument, proxy.counters)
        elif command == "quit":
            break
    for server in proxy.servers.values():
        server.close()
    for link in proxy.links.values():
        link.reset_connections()


if __name__ == "__main__":
    asyncio.run(main())
