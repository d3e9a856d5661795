// Package issuer is the issuing side of elicence: the licence-type
// catalogue, validation of issuance requests, building and signing
// credentials, and the issuer service.
//
// The service ([Service], made by [New]) is four rooms over one shared
// core, and its files are named for them:
//
//   - licences_*.go: [Licences] issues licences (one at a time and in
//     bulk), changes their status and re-issues them;
//   - publication_*.go: [Publication] signs and serves the trust list,
//     status lists, keys and registry, and runs the revocation event
//     stream;
//   - wallet_*.go: [Wallet] makes holder links and wallet sessions and
//     signs presentations and annotated copies;
//   - admin_*.go: [Admin] keeps departments, signing keys, licence types,
//     authorisations and API tokens, authenticates callers, and reads the
//     audit log;
//   - core.go: what they share — the store, the clock, the logger, the
//     metrics, and the caches of licence types and decrypted keys.
//
// Errors say their kind (package issuer/kind); only the HTTP layer turns a
// kind into a status. Opening a store (and so linking a database driver)
// is the wiring's business: see issuer/store/storeopen.
// docs/design/issuer-rooms.md says which room a change belongs to and how
// a room is added.
package issuer
