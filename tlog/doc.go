// Package tlog is the issuance log of elicence: an append-only Merkle log
// per issuing department, in the RFC 9162 tree shape with SM3 as the hash,
// published as C2SP checkpoints (signed notes, SM2) and tiles, and co-signed
// by the trust-list operator as a witness (C2SP tlog-cosignature).
//
// It is a library shared by the issuer, which appends a leaf for every
// credential and document receipt it signs, and by the stateless verifier,
// which proves from a co-signed checkpoint that an object existed before a
// key was compromised or retired. It therefore imports neither: it sits
// beside [elicence/keys] and [elicence/format] at the top of the module, and
// depends only on them, on SM3/SM2 and on the transparency-dev libraries
// (github.com/transparency-dev/merkle for compact ranges and proofs,
// github.com/transparency-dev/formats for the checkpoint body). The design,
// the threat model and the byte-by-byte formats are in
// docs/design/issuance-log.md.
//
// Which API to use when:
//
//   - Issuer, inside the transaction that stores a licence: [Append] with the
//     store's [Tx]. The store implements [Tx] and [Reader] and passes the
//     suite in elicence/tlog/tlogtest; [MemoryStore] is the in-memory
//     implementation for tests.
//   - Issuer, at its checkpoint cadence: [SignCheckpoint] with the
//     department's key ([NewNoteSigner]); the trust-list operator runs a
//     [Witness] that co-signs it after checking consistency.
//   - Publishing: [TilePath], [EntriesPath], [ReadTile] and
//     [ReadEntryBundle] turn stored hashes into the static, immutable blobs
//     of C2SP tlog-tiles; [Handler] serves them over HTTP with caching
//     headers, and [HTTPFetchers] fetches them back.
//   - Verifier: [ProveExistence] decides from a leaf, an inclusion proof and
//     a co-signed checkpoint whether an object provably existed before a
//     time; [ProofBuilder] fetches the proofs from tiles through a
//     [TileFetcher], so that they come from any web server or a file;
//     [InclusionProof.Marshal] and [ParseInclusionProof] carry a proof
//     offline as a C2SP tlog-proof.
//   - Monitor (elicence log verify): [Monitor] follows checkpoints, checks
//     that each extends the last, reports forks and leaves the department's
//     own records do not know.
package tlog
