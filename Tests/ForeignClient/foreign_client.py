#!/usr/bin/python3
"""A foreign (non-Swift) office node for Sambat's sync protocol, written from the documents.

It proves that docs/protocol.md ("Sync messages" and "Canonical op encoding (format
version 1)") and sambat_sync.proto are enough to talk to central from another language. It
uses only the Python standard library, Debian's python3-zmq and python3-protobuf, and Python
bindings that `protoc` generates from sambat_sync.proto at run time.

What it does, as an enrolled office:

1. opens a ZeroMQ DEALER with CURVE client keys and ROUTING_ID = its node id, connects;
2. sends HELLO (node, origin "<node>#1", last_seq 1, feed_checkpoint 0) and waits for WELCOME;
3. encodes one `acknowledged` op (kind 6, empty payload) in the canonical encoding, sends it
   in a BATCH with batch_id 1 and waits for its ACK, answering PING with PONG and ignoring
   anything else central sends meanwhile (feed BATCHes are not applied or acknowledged);
4. prints one JSON line: {"welcome_frontier", "ack_frontier", "refused", "op_sha256"}.

With --packed it also speaks packed ops (docs/protocol.md, "Packed ops"): HELLO sets
packed_ops, the op goes up packed when WELCOME says central accepts packed ops, and after the
ACK it reads central's feed up to WELCOME's feed_head, unpacking packed batches, and adds
{"welcome_packed_ops", "feed": [{"sha256", "packed"}, ...]} to the JSON line. The feed is not
applied or acknowledged.

Exit codes: 0 done; 1 self-test mismatch; 2 central sent ERROR (printed to stderr);
3 timeout; 64 bad arguments; 70 protoc or another local failure.

Usage:
  foreign_client.py --endpoint tcp://127.0.0.1:PORT --server-key Z85 --secret-key Z85 \\
      --public-key Z85 --node NODE --case CASE --epoch N --context 'central#1:3' \\
      --lamport N --proto path/to/sambat_sync.proto [--timeout 20] [--packed]
  foreign_client.py --self-test
"""

import argparse
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib

# ---------------------------------------------------------------------------------------------
# Canonical op encoding, format version 1 (docs/protocol.md)
# ---------------------------------------------------------------------------------------------

FORMAT_VERSION = 1
MAX_OP_BYTES = 65_536
MAX_CONTEXT_ENTRIES = 1024
U32_MAX = 2**32 - 1
U63_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
KIND_ACKNOWLEDGED = 6  # "acknowledged", author: office, payload: empty

_NODE_ID = re.compile(rb"[a-z][a-z0-9_-]{0,31}")
_CASE_ID = re.compile(rb"([A-Z]{2,5})-([0-9]{2})([0-9]{2})([0-9]{2})-([0-9]{4,6})")


MAX_BODY_BYTES_UNPACKED = 2 * 1024 * 1024  # packed ops may unpack to at most this


class PackingError(ValueError):
    """Packed ops break a rule of docs/protocol.md, "Packed ops"."""


def deflate_raw(data):
    """Raw DEFLATE (RFC 1951, no zlib header or checksum), as packed_ops uses."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def pack_ops(ops):
    """The packed_ops of `ops`: raw DEFLATE of each op behind its varint length."""
    return deflate_raw(b"".join(varint(len(op)) + op for op in ops))


def unpack_ops(packed):
    """The ops a packed_ops field holds, each exactly as packed; refuses what the protocol refuses."""
    unpacker = zlib.decompressobj(-15)
    try:
        stream = unpacker.decompress(packed, MAX_BODY_BYTES_UNPACKED + 1)
    except zlib.error as error:
        raise PackingError(f"the DEFLATE stream is damaged ({error})")
    if len(stream) > MAX_BODY_BYTES_UNPACKED:
        raise PackingError(f"they unpack to more than {MAX_BODY_BYTES_UNPACKED} bytes")
    if not unpacker.eof:
        raise PackingError("the DEFLATE stream ends before it is finished")
    if unpacker.unused_data:
        raise PackingError("bytes follow the end of the DEFLATE stream")
    ops, index = [], 0
    while index < len(stream):
        length, shift = 0, 0
        while True:
            if index >= len(stream):
                raise PackingError("an op's length is cut short")
            if shift >= 21:
                raise PackingError("an op's length is longer than an op may be")
            byte = stream[index]
            index += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0:
                if byte == 0 and shift > 7:
                    raise PackingError("an op's length is not a minimal varint")
                break
        if not 1 <= length <= MAX_OP_BYTES:
            raise PackingError(f"an op's length is {length}, outside 1 … {MAX_OP_BYTES}")
        if len(stream) - index < length:
            raise PackingError("the last op is cut short")
        ops.append(stream[index:index + length])
        index += length
    if not ops:
        raise PackingError("they hold no op")
    return ops


class EncodingError(ValueError):
    """An op field breaks a rule of docs/protocol.md; the encoder refuses to produce it."""


def varint(value):
    """Unsigned LEB128, shortest form, 0 ... 2^64-1."""
    if not 0 <= value <= U64_MAX:
        raise EncodingError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(value):
    """A signed 64-bit integer mapped to unsigned by zigzag, as a varint."""
    if not -(2**63) <= value <= 2**63 - 1:
        raise EncodingError(f"signed 64-bit value out of range: {value}")
    return varint(((value << 1) ^ (value >> 63)) & U64_MAX)


def string(text, limit, field):
    """string(L): varint byte length (at most L), then the UTF-8 bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    data.decode("utf-8")  # well-formed UTF-8 (surrogates cannot be encoded by Python anyway)
    if len(data) > limit:
        raise EncodingError(f"{field} is {len(data)} bytes, more than {limit}")
    return varint(len(data)) + data


def check_node_id(node, field="node id"):
    data = node.encode("utf-8")
    if len(data) > 32:
        raise EncodingError(f"{field} {node!r} is longer than 32 bytes")
    if not _NODE_ID.fullmatch(data):
        raise EncodingError(f"{field} {node!r} is not a node id (a-z first, then a-z 0-9 - _)")
    return node


def _days_in_month(year, month):
    if month == 2:
        return 29 if year % 4 == 0 else 28  # years 2000-2099 only: every 4th year is leap
    return 30 if month in (4, 6, 9, 11) else 31


def check_case_id(case):
    data = case.encode("utf-8")
    if len(data) > 19:
        raise EncodingError(f"case id {case!r} is longer than 19 bytes")
    match = _CASE_ID.fullmatch(data)
    if not match:
        raise EncodingError(f"case id {case!r} is not PREFIX-YYMMDD-NNNN")
    year, month, day = 2000 + int(match[2]), int(match[3]), int(match[4])
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise EncodingError(f"case id {case!r} has no real date")
    if int(match[5]) == 0:
        raise EncodingError(f"case id {case!r} has an all-zero serial")
    return case


def check_actor_id(actor):
    data = actor.encode("utf-8")
    if len(data) > 64:
        raise EncodingError(f"actor id {actor!r} is longer than 64 bytes")
    if not data or any(not 0x21 <= b <= 0x7E for b in data):
        raise EncodingError(f"actor id {actor!r} must be 1-64 printable ASCII bytes without space")
    return actor


def check_range(value, low, high, field):
    if not isinstance(value, int) or not low <= value <= high:
        raise EncodingError(f"{field} {value!r} is not in {low} ... {high}")
    return value


def origin_key(origin):
    """Origin order: node id bytes (unsigned, lexicographic), then incarnation as a number."""
    node, incarnation = origin
    return (node.encode("utf-8"), incarnation)


def encode_vector(entries):
    """A version vector: count, then (node, incarnation, seq) in strictly ascending origin order.

    `entries` is an iterable of ((node, incarnation), seq); it is sorted here, and duplicates
    or zero seqs are refused (zero is never written).
    """
    entries = sorted(entries, key=lambda entry: origin_key(entry[0]))
    if len(entries) > MAX_CONTEXT_ENTRIES:
        raise EncodingError(f"a vector has at most {MAX_CONTEXT_ENTRIES} entries")
    out = bytearray(varint(len(entries)))
    previous = None
    for (node, incarnation), seq in entries:
        check_node_id(node, "context node id")
        check_range(incarnation, 1, U32_MAX, "context incarnation")
        check_range(seq, 1, U63_MAX, "context seq")
        key = origin_key((node, incarnation))
        if previous is not None and key <= previous:
            raise EncodingError(f"origin {node}#{incarnation} appears twice in the vector")
        previous = key
        out += string(node, 32, "context node id") + varint(incarnation) + varint(seq)
    return bytes(out)


def encode_op(origin, seq, lamport, case, epoch, context, actor, at_ms, kind, payload=b""):
    """The canonical bytes of one op (docs/protocol.md, "Op layout"), fields in order."""
    node, incarnation = origin
    check_node_id(node, "origin node id")
    check_range(incarnation, 1, U32_MAX, "origin incarnation")
    check_range(seq, 1, U63_MAX, "seq")
    check_range(lamport, 1, U63_MAX, "lamport")
    check_case_id(case)
    check_range(epoch, 0, U32_MAX, "epoch")
    check_actor_id(actor)
    check_range(kind, 1, 16, "kind")
    for (entry_node, entry_incarnation), entry_seq in context:
        if (entry_node, entry_incarnation) == (node, incarnation) and entry_seq >= seq:
            raise EncodingError("the context must not claim the op itself (own origin at a seq >= the op's)")
    out = bytearray()
    out.append(FORMAT_VERSION)                 # 1  version      u8
    out += string(node, 32, "origin node id")  # 2  origin.node  string(32)
    out += varint(incarnation)                 # 3  incarnation  varint
    out += varint(seq)                         # 4  seq          varint
    out += varint(lamport)                     # 5  lamport      varint
    out += string(case, 19, "case id")         # 6  case         string(19)
    out += varint(epoch)                       # 7  epoch        varint
    out += encode_vector(context)              # 8  context      version vector
    out += string(actor, 64, "actor id")       # 9  actor        string(64)
    out += zigzag(at_ms)                       # 10 at           zigzag
    out += varint(kind)                        # 11 kind         varint
    out += payload                             # 12 payload      per kind
    if len(out) > MAX_OP_BYTES:
        raise EncodingError(f"the op is {len(out)} bytes, more than {MAX_OP_BYTES}")
    return bytes(out)


def parse_origin(text):
    """`node#incarnation`, decimal without sign or leading zeros."""
    node, sep, number = text.rpartition("#")
    if not sep or not re.fullmatch(r"[1-9][0-9]*", number):
        raise EncodingError(f"{text!r} is not an origin (node#incarnation)")
    return (check_node_id(node), check_range(int(number), 1, U32_MAX, "incarnation"))


def parse_vector(spec):
    """`node#incarnation:seq,...` (may be empty) into [((node, incarnation), seq), ...]."""
    entries = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        origin, sep, number = item.rpartition(":")
        if not sep or not re.fullmatch(r"[1-9][0-9]*", number):
            raise EncodingError(f"{item!r} is not a vector entry (node#incarnation:seq)")
        entries.append((parse_origin(origin), check_range(int(number), 1, U63_MAX, "seq")))
    encode_vector(entries)  # refuses duplicates and bad values early
    return entries


# ---------------------------------------------------------------------------------------------
# Self-test: the known answer of docs/protocol.md ("Worked example (known answer)")
# ---------------------------------------------------------------------------------------------

KNOWN_ANSWER_HEX = (
    "01056470757072010103 0f4d4a4b2d3236313132392d30303432 01 0107 63656e7472616c 0102 "
    "0462756469 80a0bfe9d666 06"
)
KNOWN_ANSWER_SHA256 = "f2ea4568617ca3f0c7fcbdba5211f4765a9f18dd60c51893548be002e0f9db2f"
# docs/protocol.md, "Packed ops": the known-answer op twice, packed.
PACKED_KNOWN_ANSWER_HEX = (
    "33 62 64 4d 29 28 2d 28 62 64 64 e6 f7 f5 f2 d6 35 32 33 34 34 b2 d4 35 30 30 31 62 64 64 4f "
    "4e cd 2b 29 4a cc 61 64 62 49 2a 4d c9 6c 58 b0 ff e5 b5 34 36 23 d2 b5 00 00"
)
VARINT_TABLE = [  # docs/protocol.md, "varint: unsigned LEB128"
    (0, "00"), (1, "01"), (127, "7f"), (128, "80 01"), (300, "ac 02"),
    (2**32 - 1, "ff ff ff ff 0f"), (2**63 - 1, "ff ff ff ff ff ff ff ff 7f"),
    (2**64 - 1, "ff ff ff ff ff ff ff ff ff 01"),
]
ZIGZAG_TABLE = [(0, 0), (-1, 1), (1, 2), (-2, 3), (-5, 9), (1_764_000_000_000, 3_528_000_000_000)]


def self_test():
    problems = []
    for value, hex_text in VARINT_TABLE:
        if varint(value) != bytes.fromhex(hex_text):
            problems.append(f"varint({value}) = {varint(value).hex(' ')}, document says {hex_text}")
    for signed, unsigned in ZIGZAG_TABLE:
        if zigzag(signed) != varint(unsigned):
            problems.append(f"zigzag({signed}) = {zigzag(signed).hex()}, document says varint({unsigned})")
    if encode_vector([]) != b"\x00":
        problems.append("the empty vector is not the single byte 00")
    unsorted = encode_vector([(("dpupr", 10), 1), (("dpupr", 2), 1), (("dp", 1), 1)])
    expected = encode_vector([(("dp", 1), 1), (("dpupr", 2), 1), (("dpupr", 10), 1)])
    if unsorted != expected or unsorted[1:4] != b"\x02dp":
        problems.append("vector entries are not sorted in origin order (dp < dpupr#2 < dpupr#10)")

    expected_bytes = bytes.fromhex(KNOWN_ANSWER_HEX.replace(" ", ""))
    op = encode_op(
        origin=("dpupr", 1), seq=1, lamport=3, case="MJK-261129-0042", epoch=1,
        context=parse_vector("central#1:2"), actor="budi", at_ms=1_764_000_000_000,
        kind=KIND_ACKNOWLEDGED,
    )
    digest = hashlib.sha256(op).hexdigest()
    if len(expected_bytes) != 50:
        problems.append(f"the document's hex is {len(expected_bytes)} bytes, not 50")
    if hashlib.sha256(expected_bytes).hexdigest() != KNOWN_ANSWER_SHA256:
        problems.append("the document's hex does not hash to the document's digest")
    if op != expected_bytes:
        problems.append(f"known-answer bytes differ:\n  encoded  {op.hex()}\n  document {expected_bytes.hex()}")
    if digest != KNOWN_ANSWER_SHA256:
        problems.append(f"known-answer SHA-256 differs:\n  encoded  {digest}\n  document {KNOWN_ANSWER_SHA256}")
    packed = bytes.fromhex(PACKED_KNOWN_ANSWER_HEX.replace(" ", ""))
    try:
        if unpack_ops(packed) != [expected_bytes, expected_bytes]:
            problems.append("the document's packed ops do not unpack to the known-answer op twice")
        if unpack_ops(pack_ops([op, op])) != [op, op]:
            problems.append("packing and unpacking the known-answer op does not give it back")
    except PackingError as error:
        problems.append(f"the document's packed ops are refused: {error}")
    for bad_packing, reason in [
        (packed[:-2], "ends before it is finished"),
        (packed + b"\x00", "has bytes after its end"),
        (deflate_raw(b"\xb2\x00" + expected_bytes), "writes a length in more bytes than it needs"),
        (deflate_raw(b""), "holds no op"),
    ]:
        try:
            unpack_ops(bad_packing)
            problems.append(f"a packing that {reason} was accepted")
        except PackingError:
            pass
    for bad, call in [
        ("seq 0", lambda: encode_op(("dpupr", 1), 0, 3, "MJK-261129-0042", 1, [], "budi", 0, 6)),
        ("self-covering context", lambda: encode_op(
            ("dpupr", 1), 2, 3, "MJK-261129-0042", 1, [(("dpupr", 1), 2)], "budi", 0, 6)),
        ("case date 260229", lambda: check_case_id("MJK-260229-0001")),
        ("duplicate vector origin", lambda: parse_vector("central#1:2,central#1:3")),
        ("actor with space", lambda: check_actor_id("budi s")),
    ]:
        try:
            call()
            problems.append(f"the encoder accepted {bad}")
        except EncodingError:
            pass
    check_case_id("MJK-280229-0001")  # a leap day is valid

    if problems:
        print("\n".join(problems))
        return 1
    print("ok")
    return 0


# ---------------------------------------------------------------------------------------------
# Sync session (docs/protocol.md, "Sync messages")
# ---------------------------------------------------------------------------------------------

PROTOCOL_VERSION = 1
HELLO, WELCOME, BATCH, ACK, ERROR, PING, PONG = 1, 2, 3, 4, 5, 6, 7
MESSAGE_NAMES = {1: "HELLO", 2: "WELCOME", 3: "BATCH", 4: "ACK", 5: "ERROR", 6: "PING", 7: "PONG"}
MAX_BODY_BYTES = 2 << 20

EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT, EXIT_USAGE, EXIT_LOCAL = 0, 2, 3, 64, 70


class Timeout(Exception):
    pass


class CentralError(Exception):
    pass


def load_bindings(proto_path, workdir):
    """Generates sambat_sync_pb2 with protoc into `workdir` and imports it."""
    proto_path = os.path.abspath(proto_path)
    if not os.path.isfile(proto_path):
        raise FileNotFoundError(f"no such .proto file: {proto_path}")
    command = ["protoc", f"--python_out={workdir}", "-I", os.path.dirname(proto_path), proto_path]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}): {result.stderr.strip()}")
    module = os.path.splitext(os.path.basename(proto_path))[0] + "_pb2"
    sys.path.insert(0, workdir)
    return importlib.import_module(module)


class Link:
    """One DEALER to central with an overall deadline that every receive honours."""

    def __init__(self, zmq, pb, args):
        self.zmq = zmq
        self.pb = pb
        self.deadline = time.monotonic() + args.timeout
        self.timeout = args.timeout
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTING_ID, args.node.encode("utf-8"))
        self.socket.curve_serverkey = args.server_key.encode("ascii")
        self.socket.curve_publickey = args.public_key.encode("ascii")
        self.socket.curve_secretkey = args.secret_key.encode("ascii")
        self.socket.connect(args.endpoint)
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)
        from google.protobuf.message import DecodeError

        self.pb_decode_error = DecodeError

    def close(self):
        self.socket.close(linger=0)
        self.context.term()

    def send(self, kind, message):
        self.socket.send_multipart([bytes([PROTOCOL_VERSION, kind]), message.SerializeToString()])

    def receive(self, waiting_for):
        """The next well-formed message as (type, decoded body); PING is answered here."""
        types = {
            WELCOME: self.pb.Welcome, BATCH: self.pb.Batch, ACK: self.pb.Ack,
            ERROR: self.pb.Error, PING: self.pb.Ping, PONG: self.pb.Pong, HELLO: self.pb.Hello,
        }
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not dict(self.poller.poll(max(1, int(remaining * 1000)))):
                if time.monotonic() >= self.deadline:
                    raise Timeout(f"no {waiting_for} from central within {self.timeout:g} s")
                continue
            frames = self.socket.recv_multipart(self.zmq.NOBLOCK)
            if len(frames) != 2 or len(frames[0]) != 2:
                warn(f"ignored a message of {len(frames)} frames that is not (version+type, body)")
                continue
            version, kind = frames[0][0], frames[0][1]
            if version != PROTOCOL_VERSION:
                warn(f"ignored a message of protocol version {version}")
                continue
            if kind not in types or len(frames[1]) > MAX_BODY_BYTES:
                warn(f"ignored message type {kind} ({len(frames[1])} bytes)")
                continue
            body = types[kind]()
            try:
                body.ParseFromString(frames[1])
            except self.pb_decode_error:
                warn(f"ignored a {MESSAGE_NAMES[kind]} whose body does not decode")
                continue
            if kind == PING:
                pong = self.pb.Pong(nonce=body.nonce)
                self.send(PONG, pong)
                continue
            if kind == ERROR:
                name = self.pb.Error.Code.Name(body.code) if body.code in self.pb.Error.Code.values() else body.code
                raise CentralError(f"central sent ERROR {name} (batch_id {body.batch_id}): {body.message}")
            return kind, body


def warn(text):
    print(f"foreign_client: {text}", file=sys.stderr)


def run_client(args):
    import zmq  # imported here so that --self-test needs nothing but the standard library

    if not zmq.has("curve"):
        warn("this libzmq has no CURVE support")
        return EXIT_LOCAL
    try:
        origin = (check_node_id(args.node), 1)
        context = parse_vector(args.context)
        check_case_id(args.case)
        check_range(args.epoch, 0, U32_MAX, "epoch")
        check_range(args.lamport, 1, U63_MAX, "lamport")
        for key_name in ("server_key", "secret_key", "public_key"):
            if len(getattr(args, key_name)) != 40:
                raise EncodingError(f"--{key_name.replace('_', '-')} must be 40 characters of Z85")
    except EncodingError as error:
        warn(str(error))
        return EXIT_USAGE

    with tempfile.TemporaryDirectory(prefix="sambat-foreign-") as workdir:
        try:
            pb = load_bindings(args.proto, workdir)
        except (OSError, RuntimeError) as error:
            warn(str(error))
            return EXIT_LOCAL
        link = Link(zmq, pb, args)
        try:
            link.send(HELLO, pb.Hello(
                node=args.node, origin=f"{args.node}#1", last_seq=1, feed_checkpoint=0,
                software="foreign-python", packed_ops=args.packed,
            ))
            while True:
                kind, welcome = link.receive("WELCOME")
                if kind == WELCOME:
                    break
                warn(f"ignored {MESSAGE_NAMES[kind]} while waiting for WELCOME")

            op = encode_op(
                origin=origin, seq=1, lamport=args.lamport, case=args.case, epoch=args.epoch,
                context=context, actor=f"{args.node}.python", at_ms=time.time_ns() // 1_000_000,
                kind=KIND_ACKNOWLEDGED, payload=b"",
            )
            if args.packed and welcome.packed_ops:
                # One op does not get smaller packed, but central must take it all the same.
                link.send(BATCH, pb.Batch(batch_id=1, packed_ops=pack_ops([op])))
            else:
                link.send(BATCH, pb.Batch(batch_id=1, ops=[op]))
            feed = {}

            def keep_feed(batch):
                if batch.ops and batch.packed_ops:
                    raise PackingError("a feed batch sets both ops and packed_ops")
                ops = unpack_ops(batch.packed_ops) if batch.packed_ops else list(batch.ops)
                if len(ops) != len(batch.received_at_ms) or batch.feed_position < len(ops):
                    raise PackingError("a feed batch's ops, receive times and position disagree")
                first = batch.feed_position - len(ops) + 1
                for offset, feed_op in enumerate(ops):
                    feed[first + offset] = {
                        "sha256": hashlib.sha256(feed_op).hexdigest(), "packed": bool(batch.packed_ops),
                    }

            while True:
                kind, body = link.receive("ACK for batch 1")
                if kind == ACK and body.batch_id == 1:
                    ack = body
                    break
                if kind == BATCH and args.packed:
                    keep_feed(body)
                # Otherwise feed BATCHes, PONGs and other ACKs are not this client's business.
            reply = {
                "welcome_frontier": welcome.frontier,
                "ack_frontier": ack.frontier,
                "refused": [[refusal.seq, refusal.reason] for refusal in ack.refused],
                "op_sha256": hashlib.sha256(op).hexdigest(),
            }
            if args.packed:
                while len(feed) < welcome.feed_head:
                    kind, body = link.receive(f"the feed up to position {welcome.feed_head}")
                    if kind == BATCH:
                        keep_feed(body)
                reply["welcome_packed_ops"] = welcome.packed_ops
                reply["feed"] = [feed[position] for position in sorted(feed)]
            print(json.dumps(reply), flush=True)
            return EXIT_OK
        except CentralError as error:
            warn(str(error))
            return EXIT_ERROR
        except Timeout as error:
            warn(
                f"timeout: {error} (a wrong --server-key or a key central has not enrolled fails the "
                "CURVE handshake silently; check the endpoint, the keys and the enrolment)"
            )
            return EXIT_TIMEOUT
        except EncodingError as error:
            warn(f"cannot encode the op: {error}")
            return EXIT_USAGE
        except PackingError as error:
            warn(f"central sent packed ops that do not unpack: {error}")
            return EXIT_ERROR
        finally:
            link.close()


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64 (exit 2 means central sent ERROR)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        warn(message)
        sys.exit(EXIT_USAGE)


def main(argv=None):
    parser = ArgumentParser(
        description="A Python office node that sends one 'acknowledged' op to Sambat's central.",
    )
    parser.add_argument("--self-test", action="store_true",
                        help="check the op encoder against docs/protocol.md's known answer and exit")
    parser.add_argument("--endpoint", help="central's endpoint, e.g. tcp://127.0.0.1:7700")
    parser.add_argument("--server-key", help="central's CURVE public key (Z85, 40 characters)")
    parser.add_argument("--secret-key", help="this office's CURVE secret key (Z85)")
    parser.add_argument("--public-key", help="this office's CURVE public key (Z85), enrolled at central")
    parser.add_argument("--node", help="this office's node id, e.g. dpupr")
    parser.add_argument("--case", help="the case id, e.g. MJK-261129-0042")
    parser.add_argument("--epoch", type=int, help="the office's assignment epoch for the case")
    parser.add_argument("--context", help="the case's version vector: node#incarnation:seq,... (may be empty)")
    parser.add_argument("--lamport", type=int, help="the op's Lamport time")
    parser.add_argument("--proto", help="path to sambat_sync.proto")
    parser.add_argument("--timeout", type=float, default=20.0, help="overall seconds to wait (default 20)")
    parser.add_argument("--packed", action="store_true",
                        help="speak packed ops, and report central's feed up to WELCOME's feed_head")
    args = parser.parse_args(argv)

    if args.self_test:
        return self_test()
    required = ["endpoint", "server_key", "secret_key", "public_key", "node", "case", "epoch",
                "context", "lamport", "proto"]
    missing = [f"--{name.replace('_', '-')}" for name in required if getattr(args, name) is None]
    if missing:
        parser.print_usage(sys.stderr)
        warn(f"missing {', '.join(missing)}")
        return EXIT_USAGE
    if args.timeout <= 0:
        warn("--timeout must be positive")
        return EXIT_USAGE
    return run_client(args)


if __name__ == "__main__":
    sys.exit(main())
