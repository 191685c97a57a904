/// The canonical binary encoding of ops, format version 1 (specified in `docs/protocol.md`).
///
/// Fields are written in a fixed order with no tags and no maps; integers are minimal LEB128
/// varints, strings are length-prefixed UTF-8, vectors are sorted. Decoding is strict, so
/// `encode(decode(bytes)) == bytes` for every accepted input.
enum OpCodec {
    static func encode(_ op: Op) throws(CodingError) -> [UInt8] {
        var writer = ByteWriter(capacity: 96)
        writer.writeRaw([SealedOp.formatVersion])
        try writeOrigin(op.id.origin, to: &writer, field: "origin")
        writer.writeVarint(op.id.seq)
        guard op.lamport >= 1, op.lamport <= UInt64(Int64.max) else {
            throw CodingError(.invalidValue, field: "lamport", offset: 0)
        }
        writer.writeVarint(op.lamport)
        try writer.writeString(op.caseID.rawValue, field: "case", limit: CaseID.maximumLength)
        writer.writeVarint(UInt64(op.epoch))
        guard op.context[op.id.origin] < op.id.seq else {
            throw CodingError(.invalidValue, field: "context", offset: 0)
        }
        try VersionVectorCodec.write(op.context, to: &writer)
        try writer.writeString(op.actor.rawValue, field: "actor", limit: ActorID.maximumLength)
        writer.writeZigzag(op.at.millisecondsSinceEpoch)
        writer.writeVarint(UInt64(op.kind.rawValue))
        try writePayload(op.body, to: &writer)
        guard writer.bytes.count <= OpLimits.maximumEncodedBytes else {
            throw CodingError(.oversized, field: "op", offset: 0)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(CodingError) -> Op {
        guard bytes.count <= OpLimits.maximumEncodedBytes else {
            throw CodingError(.oversized, field: "op", offset: 0)
        }
        var reader = ByteReader(bytes)
        let version = try reader.readByte(field: "version")
        guard version == SealedOp.formatVersion else {
            throw CodingError(.unsupportedVersion, field: "version", offset: 0)
        }
        let origin = try readOrigin(from: &reader, field: "origin")
        let seqOffset = reader.offset
        let seq = try reader.readVarint(field: "seq", in: 1...UInt64(Int64.max))
        let lamport = try reader.readVarint(field: "lamport", in: 1...UInt64(Int64.max))
        let caseOffset = reader.offset
        let caseText = try reader.readString(field: "case", limit: CaseID.maximumLength)
        let epoch = try reader.readVarint(field: "epoch", in: 0...UInt64(UInt32.max))
        let contextOffset = reader.offset
        let context = try VersionVectorCodec.read(from: &reader)
        let actorOffset = reader.offset
        let actorText = try reader.readString(field: "actor", limit: ActorID.maximumLength)
        let at = try reader.readZigzag(field: "at")
        let kindOffset = reader.offset
        let kindCode = try reader.readVarint(field: "kind")
        guard kindCode <= UInt64(UInt8.max), let kind = OpKind(rawValue: UInt8(kindCode)) else {
            throw CodingError(.unknownKind, field: "kind", offset: kindOffset)
        }
        let body = try readPayload(kind, from: &reader)
        guard reader.isAtEnd else { throw CodingError(.trailingBytes, field: "op", offset: reader.offset) }

        let id: OpID
        let caseID: CaseID
        let actor: ActorID
        do {
            id = try OpID(origin: origin, seq: seq)
        } catch {
            throw CodingError(.invalidValue, field: "seq", offset: seqOffset)
        }
        do {
            caseID = try CaseID(caseText)
        } catch {
            throw CodingError(.invalidValue, field: "case", offset: caseOffset)
        }
        do {
            actor = try ActorID(actorText)
        } catch {
            throw CodingError(.invalidValue, field: "actor", offset: actorOffset)
        }
        guard context[origin] < seq else {
            throw CodingError(.invalidValue, field: "context", offset: contextOffset)
        }
        return Op(
            id: id,
            lamport: lamport,
            caseID: caseID,
            epoch: UInt32(epoch),
            context: context,
            actor: actor,
            at: Timestamp(millisecondsSinceEpoch: at),
            body: body
        )
    }

    // MARK: - Shared pieces

    static func writeOrigin(_ origin: Origin, to writer: inout ByteWriter, field: String) throws(CodingError) {
        try writer.writeString(origin.node.rawValue, field: field + ".node", limit: NodeID.maximumLength)
        writer.writeVarint(UInt64(origin.incarnation))
    }

    static func readOrigin(
        from reader: inout ByteReader,
        field: @autoclosure () -> String
    ) throws(CodingError) -> Origin {
        let start = reader.offset
        let node = try readNode(from: &reader, field: field() + ".node")
        let incarnation = try reader.readVarint(field: field() + ".incarnation", in: 1...UInt64(UInt32.max))
        do {
            return try Origin(node: node, incarnation: UInt32(incarnation))
        } catch {
            throw CodingError(.invalidValue, field: field(), offset: start)
        }
    }

    static func readNode(from reader: inout ByteReader, field: @autoclosure () -> String) throws(CodingError) -> NodeID
    {
        let start = reader.offset
        let text = try reader.readString(field: field(), limit: NodeID.maximumLength)
        do {
            return try NodeID(text)
        } catch {
            throw CodingError(.invalidValue, field: field(), offset: start)
        }
    }

    // MARK: - Payloads

    private static func writePayload(_ body: OpBody, to w: inout ByteWriter) throws(CodingError) {
        switch body {
        case .opened(let p):
            w.writeVarint(UInt64(p.channel.rawValue))
            try w.writeString(p.reporterRef, field: "opened.reporter", limit: OpLimits.maximumLabel)
            try w.writeString(p.text, field: "opened.text", limit: OpLimits.maximumLongText)
            try w.writeString(p.location, field: "opened.location", limit: OpLimits.maximumShortText)
        case .verified(let p):
            w.writeVarint(UInt64(p.tier.rawValue))
            try w.writeString(p.topic, field: "verified.topic", limit: OpLimits.maximumLabel)
        case .pended(let p):
            try w.writeString(p.request, field: "pended.request", limit: OpLimits.maximumShortText)
        case .archived(let p):
            w.writeVarint(UInt64(p.reason.rawValue))
            try w.writeString(p.note, field: "archived.note", limit: OpLimits.maximumShortText)
        case .dispatched(let p):
            try w.writeString(p.office.rawValue, field: "dispatched.office", limit: NodeID.maximumLength)
            guard p.epoch >= 1 else { throw CodingError(.invalidValue, field: "dispatched.epoch", offset: 0) }
            w.writeVarint(UInt64(p.epoch))
            try w.writeString(p.instructions, field: "dispatched.instructions", limit: OpLimits.maximumShortText)
        case .acknowledged, .started:
            break
        case .noted(let p):
            w.writeVarint(UInt64(p.visibility.rawValue))
            try w.writeString(p.text, field: "noted.text", limit: OpLimits.maximumLongText)
        case .resolved(let p):
            try w.writeString(p.summary, field: "resolved.summary", limit: OpLimits.maximumLongText)
        case .returned(let p):
            w.writeVarint(UInt64(p.reason.rawValue))
            try w.writeString(p.note, field: "returned.note", limit: OpLimits.maximumShortText)
        case .reassigned(let p):
            try w.writeString(p.from.rawValue, field: "reassigned.from", limit: NodeID.maximumLength)
            try w.writeString(p.to.rawValue, field: "reassigned.to", limit: NodeID.maximumLength)
            guard p.epoch >= 1 else { throw CodingError(.invalidValue, field: "reassigned.epoch", offset: 0) }
            w.writeVarint(UInt64(p.epoch))
            try w.writeString(p.note, field: "reassigned.note", limit: OpLimits.maximumShortText)
        case .closed(let p):
            w.writeVarint(UInt64(p.reason.rawValue))
        case .reopened(let p):
            try w.writeString(p.reason, field: "reopened.reason", limit: OpLimits.maximumShortText)
        case .evidenceAdded(let p):
            guard p.sha256.count == 32 else {
                throw CodingError(.invalidValue, field: "evidence.sha256", offset: 0)
            }
            guard p.size <= OpLimits.maximumEvidenceBytes else {
                throw CodingError(.oversized, field: "evidence.size", offset: 0)
            }
            w.writeRaw(p.sha256)
            w.writeVarint(p.size)
            try w.writeString(p.mimeType, field: "evidence.mime", limit: OpLimits.maximumLabel)
            try w.writeString(p.name, field: "evidence.name", limit: OpLimits.maximumLabel)
        case .reporterWrote(let p):
            w.writeVarint(UInt64(p.channel.rawValue))
            try w.writeString(p.text, field: "reporter_wrote.text", limit: OpLimits.maximumLongText)
        case .conflictResolved(let p):
            try w.writeString(p.conflict, field: "conflict_resolved.conflict", limit: OpLimits.maximumShortText)
            w.writeVarint(UInt64(p.outcome.rawValue))
            try w.writeString(p.note, field: "conflict_resolved.note", limit: OpLimits.maximumShortText)
        }
    }

    private static func readPayload(_ kind: OpKind, from r: inout ByteReader) throws(CodingError) -> OpBody {
        switch kind {
        case .opened:
            let channel = try r.readCode(field: "opened.channel", IntakeChannel.init(rawValue:))
            let reporter = try r.readString(field: "opened.reporter", limit: OpLimits.maximumLabel)
            let text = try r.readString(field: "opened.text", limit: OpLimits.maximumLongText)
            let location = try r.readString(field: "opened.location", limit: OpLimits.maximumShortText)
            return .opened(.init(channel: channel, reporterRef: reporter, text: text, location: location))
        case .verified:
            let tier = try r.readCode(field: "verified.tier", DeadlineTier.init(rawValue:))
            let topic = try r.readString(field: "verified.topic", limit: OpLimits.maximumLabel)
            return .verified(.init(tier: tier, topic: topic))
        case .pended:
            return .pended(.init(request: try r.readString(field: "pended.request", limit: OpLimits.maximumShortText)))
        case .archived:
            let reason = try r.readCode(field: "archived.reason", ArchiveReason.init(rawValue:))
            let note = try r.readString(field: "archived.note", limit: OpLimits.maximumShortText)
            return .archived(.init(reason: reason, note: note))
        case .dispatched:
            let office = try readNode(from: &r, field: "dispatched.office")
            let epoch = try r.readVarint(field: "dispatched.epoch", in: 1...UInt64(UInt32.max))
            let instructions = try r.readString(field: "dispatched.instructions", limit: OpLimits.maximumShortText)
            return .dispatched(.init(office: office, epoch: UInt32(epoch), instructions: instructions))
        case .acknowledged:
            return .acknowledged
        case .started:
            return .started
        case .noted:
            let visibility = try r.readCode(field: "noted.visibility", NoteVisibility.init(rawValue:))
            let text = try r.readString(field: "noted.text", limit: OpLimits.maximumLongText)
            return .noted(.init(text: text, visibility: visibility))
        case .resolved:
            return .resolved(
                .init(summary: try r.readString(field: "resolved.summary", limit: OpLimits.maximumLongText))
            )
        case .returned:
            let reason = try r.readCode(field: "returned.reason", ReturnReason.init(rawValue:))
            let note = try r.readString(field: "returned.note", limit: OpLimits.maximumShortText)
            return .returned(.init(reason: reason, note: note))
        case .reassigned:
            let from = try readNode(from: &r, field: "reassigned.from")
            let to = try readNode(from: &r, field: "reassigned.to")
            let epoch = try r.readVarint(field: "reassigned.epoch", in: 1...UInt64(UInt32.max))
            let note = try r.readString(field: "reassigned.note", limit: OpLimits.maximumShortText)
            return .reassigned(.init(from: from, to: to, epoch: UInt32(epoch), note: note))
        case .closed:
            return .closed(.init(reason: try r.readCode(field: "closed.reason", CloseReason.init(rawValue:))))
        case .reopened:
            return .reopened(
                .init(reason: try r.readString(field: "reopened.reason", limit: OpLimits.maximumShortText))
            )
        case .evidenceAdded:
            let sha = try r.readRaw(count: 32, field: "evidence.sha256")
            let sizeOffset = r.offset
            let size = try r.readVarint(field: "evidence.size")
            guard size <= OpLimits.maximumEvidenceBytes else {
                throw CodingError(.oversized, field: "evidence.size", offset: sizeOffset)
            }
            let mime = try r.readString(field: "evidence.mime", limit: OpLimits.maximumLabel)
            let name = try r.readString(field: "evidence.name", limit: OpLimits.maximumLabel)
            return .evidenceAdded(.init(sha256: sha, size: size, mimeType: mime, name: name))
        case .reporterWrote:
            let channel = try r.readCode(field: "reporter_wrote.channel", IntakeChannel.init(rawValue:))
            let text = try r.readString(field: "reporter_wrote.text", limit: OpLimits.maximumLongText)
            return .reporterWrote(.init(channel: channel, text: text))
        case .conflictResolved:
            let conflict = try r.readString(field: "conflict_resolved.conflict", limit: OpLimits.maximumShortText)
            let outcome = try r.readCode(field: "conflict_resolved.outcome", ConflictOutcome.init(rawValue:))
            let note = try r.readString(field: "conflict_resolved.note", limit: OpLimits.maximumShortText)
            return .conflictResolved(.init(conflict: conflict, outcome: outcome, note: note))
        }
    }
}
