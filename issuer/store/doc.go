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
// Serials count from 1 per (department, licence type). A serial, or a block
// of them, is taken from a counter row with one atomic
// INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement, committed on its
// own before the issuance transaction starts, so no lock is held while the
// licence is signed. A transaction that then fails leaves a gap; serials are
// never reused.
//
// # Status-list slots
//
// Each department owns numbered status lists ("<DEPT>-1", "<DEPT>-2", ...)
// of a fixed size (at least [MinStatusListSize] entries). A list hands out at
// most half of its entries; the allocation after that opens the next list. A
// quota of entries is reserved from the current list by one atomic UPDATE
// committed on its own (like serials, a failed transaction leaves the quota
// unused). Inside the issuance transaction the licence then gets indices
// drawn uniformly at random with crypto/rand; each is inserted into a slot
// table whose primary key is (list, index), and an index that is already
// taken is replaced by a fresh random draw. Since a list is at most half
// full, each draw succeeds with probability at least one half.
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
// append one after the other, never forking the chain. [AuditStore.VerifyChain]
// recomputes every hash and checks the head, which detects edited, deleted,
// inserted or reordered entries.
//
// # Times
//
// Times are stored with microsecond precision and returned in UTC. Times
// the issuer signs (IssuedAt, ValidFrom, ValidUntil) come from the records it
// passes in; bookkeeping times (CreatedAt, UpdatedAt, RevokedAt,
// StatusChangedAt, audit Time) are set by the store from its configured
// clock. A zero time.Time stands for "none".
package store
