import Foundation
import SambatWire
import Testing

@Suite struct CurveKeyTests {
    @Test func generatedKeysAreZ85AndThePublicKeyDerivesFromTheSecret() throws {
        let pair = try CurveKeyPair.generate()
        #expect(CurveKeyPair.isValidKey(pair.publicKey))
        #expect(CurveKeyPair.isValidKey(pair.secretKey))
        #expect(pair.publicKey != pair.secretKey)
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(try CurveKeyPair.generate() != pair)
        // Interpolating a keypair into a log line never shows the secret.
        #expect(!"\(pair)".contains(pair.secretKey))
        #expect(!String(reflecting: pair).contains(pair.secretKey))
        var dumped = ""
        dump(pair, to: &dumped)
        #expect(!dumped.contains(pair.secretKey))
    }

    @Test(arguments: ["", "short", String(repeating: "a", count: 39), String(repeating: "~", count: 40)])
    func malformedKeysAreRefused(_ key: String) {
        #expect(!CurveKeyPair.isValidKey(key))
        #expect(throws: ZMQError.self) { try CurveKeyPair(secretKey: key) }
    }

    @Test func keyFilesAreWrittenPrivateNeverOverwrittenAndReadBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sambat-keys-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("dpupr.key").path
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.write(pair, to: path, node: "dpupr")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try CurveKeyFile.read(from: path) == pair)
        #expect { try CurveKeyFile.write(try CurveKeyPair.generate(), to: path, node: "dpupr") } throws: {
            ($0 as? CurveKeyFile.Failure)?.reason.contains("already exists") == true
        }
        #expect(try CurveKeyFile.read(from: path) == pair)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect { try CurveKeyFile.read(from: path) } throws: {
            ($0 as? CurveKeyFile.Failure)?.reason.contains("chmod 600") == true
        }

        // A file whose public key was edited to another node's is refused.
        let edited = directory.appendingPathComponent("edited.key").path
        let other = try CurveKeyPair.generate()
        let text = "public-key = \"\(other.publicKey)\"\nsecret-key = \"\(pair.secretKey)\"\n"
        #expect(
            FileManager.default.createFile(
                atPath: edited,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]
            )
        )
        #expect { try CurveKeyFile.read(from: edited) } throws: {
            ($0 as? CurveKeyFile.Failure)?.reason.contains("does not belong") == true
        }
    }
}
