// Package store defines the issuer's persistent records and the [Store]
// interface through which the issuer reads and changes them. Two backends
// implement it, each written for its database: store/sqlite (an embedded
// file, the default) and store/postgres (pgx, for several issuer processes
// sharing one server). Both pass the conformance suite in store/storetest.
//
// # Transactions
//
// Every change is made in one database transaction together with the audit
// entry that records it, so an audit entry exists exactly when its change
// does. Issuance takes a build callback: the store allocates the serial and
// the status-list slot, calls build inside the transaction, stores what it
// returns and appends the audit entry before committing. If build fails, or
// anything after it, nothing is stored.
//
// # Serials
//
// Serials count from 1 per (department, licence type). A serial, or a
// block of n for a batch, is taken from a counter row with one
// INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement that also
// checks the department's authorisation for the type. On PostgreSQL that
// statement commits on its own before the issuance transaction starts, so
// no lock is held while the licence is signed and several processes never
// receive the same serial; a transaction that then fails leaves a gap. On
// SQLite it runs inside the (single-writer) issuance transaction. Serials
// are never reused.
//
// # Status-list slots
//
// Each department owns numbered status lists ("<DEPT>-1", "<DEPT>-2", ...)
// of a fixed size (at least [MinStatusListSize] entries). A list hands out at
// most half of its entries; the allocation after that opens the next list.
// On PostgreSQL a quota of entries is first reserved from the current list
// in a short transaction of its own (lock the list row, raise its
// Allocated count, commit), so concurrent issuers do not wait for each
// other's signing; a failed issuance leaves its quota unused. The licence
// then gets indices drawn uniformly at random with crypto/rand; each is
// inserted into a slot table whose primary key is (list, index), and an
// index already taken (by a committed or a concurrent transaction) is
// replaced by a fresh draw. A list being at most half full, each draw
// succeeds with probability at least one half. On PostgreSQL the slots
// are inserted (in ascending order) in another short transaction before
// the issuance transaction and then shuffled, so that concurrent batches
// neither wait on each other's uncommitted slots while signing nor
// deadlock; a failed issuance leaves its slots unused too. SQLite inserts
// them inside the issuance transaction of its single writer. The PostgreSQL
// issuance and status-change paths commit asynchronously and then wait for
// a synchronous commit that writes WAL, and so flushes it, before
// returning (see postgres/durability.go), so that no lock on a shared row
// is held across a disk flush.
//
// A status list's content is the set of its non-valid entries. Its
// Revision grows by one in the transaction of every status change, and only
// then, so it serves as an ETag.
//
// # Audit chain
//
// The audit log is one linear hash chain for the whole store (see
// [AuditHash]). Appending reads the chain head (a single row) with a row
// lock and writes the new entry and the new head; this is the last step of
// every transaction, so the lock is held only for the final statements and
// the commit. Concurrent transactions, in one process or several, therefore
// append one after the other, never forking the chain (on SQLite the single
// writer already serialises them). [AuditStore.VerifyChain] recomputes
// every hash and checks the head, which detects edited, deleted, inserted
// or reordered entries.
//
// # Times
//
// Times are stored with microsecond precision and returned in UTC. Times
// the issuer signs (IssuedAt, ValidFrom, ValidUntil) come from the records it
// passes in; bookkeeping times (CreatedAt, UpdatedAt, RevokedAt,
// StatusChangedAt, audit Time) are set by the store from its configured
// clock. A zero time.Time stands for "none".
package store
