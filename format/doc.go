// Package format owns every elicence wire format: the signed envelope, the
// licence credential, the QR text, the trust list, the status list, the
// dynamic presentation token and the annotated copy (加注件). docs/FORMAT.md
// describes them byte by byte; this package is their only implementation.
//
// Every signed object is a CBOR array of two byte strings,
// [payload, signature], where payload is the core deterministic CBOR
// encoding (RFC 8949 §4.2.1) of a map with small unsigned integer keys whose
// key 0 names the object's kind, and signature is SM2 with SM3 (default
// distinguishing ID) over exactly the payload bytes, raw r‖s in 64 bytes.
//
// Decoding is strict: anything that would not re-encode to the same bytes is
// refused with a [*ParseError], so every accepted object has exactly one
// encoding.
package format
