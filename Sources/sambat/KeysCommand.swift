import ArgumentParser
import Foundation
import SambatNode
import SambatWire

#if canImport(Glibc)
import Glibc
#endif

/// `sambat keys`: a node's CURVE keypair.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kelola kunci CURVE node (manage this node's CURVE keys).",
        subcommands: [Generate.self, Public.self, Identity.self]
    )

    /// `sambat keys generate`: a new keypair in a 0600 file; prints the public key to enrol.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buat pasangan kunci baru (generate a keypair; prints the public key).",
            discussion: """
                Writes the keypair to --out with mode 0600 (creating missing folders with mode
                0700) and prints the public key. Give the
                public key to the hotline's IT so they enrol this node at central; the secret
                key never leaves this machine. An existing key file is never overwritten.
                """
        )

        @Option(help: "Where to write the key file (created with mode 0600).") var out: String
        @Option(help: "This node's id, recorded in the file's comment.") var node: String = "node"

        func run() throws {
            let pair: CurveKeyPair
            do {
                pair = try CurveKeyPair.generate()
            } catch {
                throw ValidationError("Gagal membuat kunci: \(error)")
            }
            do {
                try createKeyFolder(for: out)
                try CurveKeyFile.write(pair, to: out, node: node)
            } catch {
                throw ValidationError("Gagal menyimpan kunci: \(error)")
            }
            print(pair.publicKey)
        }
    }

    /// `sambat keys public`: prints the public key of an existing key file.
    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tampilkan kunci publik dari file kunci (print a key file's public key)."
        )

        @Option(help: "The key file.") var key: String

        func run() throws {
            do {
                print(try CurveKeyFile.read(from: key).publicKey)
            } catch {
                throw ValidationError("Kunci tidak dapat dibaca: \(error)")
            }
        }
    }

    /// `sambat keys identity`: central's identity key, sealing reporter identities.
    struct Identity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buat kunci identitas central (generate central's identity key).",
            discussion: """
                32 random bytes in a 0600 file (missing folders are created with mode 0700),
                named by identity.key_file in central's
                configuration. Back it up apart from the database: without it, stored reporter
                identities cannot be read. An existing file is never overwritten.
                """
        )

        @Option(help: "Where to write the key file.") var out: String

        func run() throws {
            do {
                try createKeyFolder(for: out)
                try IdentityKeyFile.generate(at: out)
            } catch {
                throw ValidationError("Gagal membuat kunci identitas: \(error)")
            }
            print("Kunci identitas ditulis ke \(out).")
        }
    }
}

/// Creates the folders a key file's path needs, each with mode 0700.
///
/// So the guide's first command works on a fresh machine, and no other user can list the
/// keys. Folders that exist are left as they are.
func createKeyFolder(for file: String) throws {
    var missing: [String] = []
    var folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
    while !folder.isEmpty, folder != "/", !FileManager.default.fileExists(atPath: folder) {
        missing.append(folder)
        folder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
    }
    for path in missing.reversed() where mkdir(path, 0o700) != 0 && errno != EEXIST {
        throw KeyFolderError(path: path, reason: String(cString: strerror(errno)))
    }
}

/// A key file's folder that could not be created.
struct KeyFolderError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): the folder cannot be created: \(reason)" }
}
