package issuer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"elicence/issuer/store"
)

// Bulk input formats.
const (
	BulkNDJSON = "ndjson"
	BulkCSV    = "csv"
)

// Limits of bulk issuance.
const (
	DefaultBulkBatchSize = 1000
	MaxBulkBatchSize     = 10000
	// MaxBulkLine is the longest NDJSON line or CSV record, in bytes.
	MaxBulkLine = 64 << 10
)

// BulkOptions configures IssueBulk.
type BulkOptions struct {
	// Format is BulkNDJSON or BulkCSV.
	Format string
	// Type is the licence type of rows that name none.
	Type string
	// BatchSize is the most rows issued in one all-or-nothing transaction;
	// a batch also ends where the licence type changes. Zero means
	// DefaultBulkBatchSize.
	BatchSize int
	// Workers is how many batches are signed and stored at once; zero
	// means GOMAXPROCS.
	Workers int
	// IdempotencyKey, when set, names the upload (1 to MaxBulkKey bytes):
	// row n gets the idempotency key "bulk:<key>:<n>", so that the same
	// upload sent again, after a crash or a broken answer, returns the
	// licences of the rows already issued (Replayed) and issues only the
	// rest. A row changed under the same key is rejected.
	IdempotencyKey string
}

// MaxBulkKey is the longest idempotency key of a bulk upload.
const MaxBulkKey = 100

// RowKey is the idempotency key of row n of the upload named key.
func RowKey(key string, n int) string { return "bulk:" + key + ":" + strconv.Itoa(n) }

// RowDigest is the digest of a row's request given in its outcome: the
// first 8 bytes of RequestHash, in hex. A client that computes it for the
// rows it sent (see BulkDigests) can tell that each outcome is that of
// its row.
func RowDigest(req *Request) string {
	return hex.EncodeToString(RequestHash(*req)[:8])
}

// BulkDigests reads an upload as IssueBulk would and returns the digest
// of each row (rows count from 1: digests[0] is row 1's).
func BulkDigests(r io.Reader, format, typeCode string) ([]string, error) {
	rows, err := newRowReader(r, BulkOptions{Format: format})
	if err != nil {
		return nil, err
	}
	var out []string
	for {
		req, _, err := rows.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if req.Type == "" {
			req.Type = typeCode
		}
		out = append(out, RowDigest(req))
	}
}

// Row outcomes of bulk issuance.
const (
	RowIssued    = "issued"
	RowRejected  = "rejected"   // the row itself is invalid
	RowNotIssued = "not_issued" // valid, but its batch was not issued
)

// BulkRow is the outcome of one input row (rows count from 1, the CSV
// header not included).
type BulkRow struct {
	Row   int `json:"row"`
	Batch int `json:"batch"`
	// Digest identifies the row's content (see RowDigest).
	Digest string `json:"digest"`
	Status string `json:"status"`
	ID     string `json:"id,omitempty"`
	// Replayed reports a row issued by an earlier send of the same upload
	// (same idempotency key): ID is the licence issued then.
	Replayed bool `json:"replayed,omitempty"`
	// Retry reports a row not issued for a passing reason (the store was
	// unavailable, the request was cancelled): sending the upload again
	// with the same idempotency key may issue it.
	Retry  bool         `json:"retry,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// BulkSummary totals a bulk issuance.
type BulkSummary struct {
	Rows   int `json:"rows"`
	Issued int `json:"issued"`
	// Replayed counts the issued rows that an earlier send of the upload
	// issued.
	Replayed      int `json:"replayed"`
	Rejected      int `json:"rejected"`
	NotIssued     int `json:"not_issued"`
	Batches       int `json:"batches"`
	FailedBatches int `json:"failed_batches"`
	// SignSeconds is the time spent building and signing credentials and
	// StoreSeconds the rest of the batches' time (allocation, COPY,
	// audit, commit), both summed over workers.
	SignSeconds  float64 `json:"sign_seconds"`
	StoreSeconds float64 `json:"store_seconds"`
}

// bulkBatch is a run of rows of one type, issued all or nothing.
type bulkBatch struct {
	seq      int
	typeCode string
	firstRow int
	reqs     []*prepared
	errs     [][]FieldError // per row; nil when the row is valid
	hashes   [][]byte       // per row: RequestHash
	invalid  int

	rows        []BulkRow
	sign        time.Duration
	total       time.Duration
	failed      bool
	unavailable bool // failed because the store was unavailable
	ready       chan struct{}
}

// IssueBulk reads rows (NDJSON or CSV, see docs/openapi.yaml) from r and
// issues them for p's department in batches, each all or nothing: a batch
// with an invalid row issues none of its rows. Row outcomes are passed to
// emit in input order as their batches complete, so a caller can stream
// them. Several batches are signed and stored at once. A failure to read
// the input is returned after the rows read before it are reported.
func (s *Licences) IssueBulk(ctx context.Context, p *Principal, r io.Reader, opts BulkOptions, emit func(BulkRow) error) (BulkSummary, error) {
	var sum BulkSummary
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return sum, err
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBulkBatchSize
	}
	if opts.BatchSize < 1 || opts.BatchSize > MaxBulkBatchSize {
		return sum, fieldError("batch_size", "1 to %d", MaxBulkBatchSize)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if len(opts.IdempotencyKey) > MaxBulkKey {
		return sum, fieldError("Idempotency-Key", "at most %d bytes", MaxBulkKey)
	}
	rows, err := newRowReader(r, opts)
	if err != nil {
		return sum, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	now := s.now()
	auth := map[string]error{}
	work := make(chan *bulkBatch)
	order := make(chan *bulkBatch, opts.Workers*2)
	// The workers sign and store batches; a batch's failure is its rows'
	// outcome, not the upload's, so no worker returns an error.
	var workers errgroup.Group
	for range opts.Workers {
		workers.Go(func() error {
			for b := range work {
				s.issueBatch(ctx, p, b, now, opts)
				close(b.ready)
			}
			return nil
		})
	}
	// The emitter reports batches in input order.
	emitErr := make(chan error, 1)
	unavailable := false
	go func() {
		var err error
		for b := range order {
			<-b.ready
			sum.Batches++
			if b.failed {
				sum.FailedBatches++
			}
			unavailable = unavailable || b.unavailable
			sum.SignSeconds += b.sign.Seconds()
			sum.StoreSeconds += (b.total - b.sign).Seconds()
			for _, row := range b.rows {
				sum.Rows++
				switch row.Status {
				case RowIssued:
					sum.Issued++
					if row.Replayed {
						sum.Replayed++
					}
				case RowRejected:
					sum.Rejected++
				default:
					sum.NotIssued++
				}
				if err == nil {
					if err = emit(row); err != nil {
						cancel()
					}
				}
			}
		}
		emitErr <- err
	}()

	var cur *bulkBatch
	seq := 0
	flush := func() {
		if cur == nil {
			return
		}
		order <- cur
		select {
		case work <- cur:
		case <-ctx.Done():
			close(cur.ready)
		}
		cur = nil
	}
	var readErr error
	for row := 1; ; row++ {
		req, rowErrs, err := rows.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if ctx.Err() != nil {
			break
		}
		if req.Type == "" {
			req.Type = opts.Type
		}
		var pr *prepared
		parsed := rowErrs == nil
		if parsed {
			pr, rowErrs = s.prepareBulk(ctx, p, req, now, auth)
		}
		// A row that could not be read stays in the current batch (and
		// fails it) rather than starting a batch of its own.
		if cur != nil {
			var ends bool
			cur.typeCode, ends = batchRule(cur.typeCode, len(cur.reqs), opts.BatchSize, req.Type, !parsed)
			if ends {
				flush()
			}
		}
		if cur == nil {
			seq++
			// Room for a full batch at once, not grown row by row.
			cur = &bulkBatch{seq: seq, typeCode: req.Type, firstRow: row, ready: make(chan struct{}),
				reqs: make([]*prepared, 0, opts.BatchSize), errs: make([][]FieldError, 0, opts.BatchSize), hashes: make([][]byte, 0, opts.BatchSize)}
		}
		cur.reqs = append(cur.reqs, pr)
		cur.errs = append(cur.errs, rowErrs)
		cur.hashes = append(cur.hashes, RequestHash(*req))
		if rowErrs != nil {
			cur.invalid++
		}
	}
	flush()
	close(work)
	_ = workers.Wait() // the workers return no error
	close(order)
	if err := <-emitErr; err != nil {
		return sum, err
	}
	if readErr != nil {
		return sum, readErr
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if unavailable {
		return sum, fmt.Errorf("bulk issuance: some batches not issued: %w", store.ErrUnavailable)
	}
	return sum, nil
}

// batchRule decides where batches of a bulk upload end. The current batch
// has n rows of type typ ("" while it holds only unreadable rows, whose
// type is not known); the next row has type rowType, or could not be read.
// It returns the current batch's type once the row is seen (an unreadable
// batch takes the type of the first readable row after it) and whether
// the batch ends before the row: when it is full, or when a readable row
// of another type comes. An unreadable row never starts a batch of its
// own: it stays in the current one, and fails it.
func batchRule(typ string, n, size int, rowType string, unreadable bool) (string, bool) {
	if typ == "" && !unreadable {
		typ = rowType
	}
	return typ, n == size || (typ != rowType && !unreadable)
}

// prepareBulk validates one row; authorisation is looked up once per type.
func (s *Licences) prepareBulk(ctx context.Context, p *Principal, req *Request, now time.Time, auth map[string]error) (*prepared, []FieldError) {
	if req.Type == "" {
		return nil, []FieldError{{"type", "required (in the row or as the type parameter)"}}
	}
	lt, err := s.licenceType(ctx, req.Type)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, []FieldError{{"type", fmt.Sprintf("unknown licence type %q", req.Type)}}
		}
		return nil, []FieldError{{"type", "licence type unavailable"}}
	}
	aerr, ok := auth[lt.Code]
	if !ok {
		aerr = s.checkAuthorised(ctx, p.Department, lt.Code)
		auth[lt.Code] = aerr
	}
	if aerr != nil {
		return nil, []FieldError{{"type", fmt.Sprintf("the department is not authorised to issue licence type %s", lt.Code)}}
	}
	v, err := req.Validate(lt, now)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, ve.Errors
		}
		return nil, []FieldError{{"(row)", "invalid"}}
	}
	return &prepared{v: v, lt: lt, dept: p.Department}, nil
}

// issueBatch issues one batch and fills in its rows' outcomes.
func (s *Licences) issueBatch(ctx context.Context, p *Principal, b *bulkBatch, now time.Time, opts BulkOptions) {
	b.rows = make([]BulkRow, len(b.reqs))
	for i := range b.reqs {
		b.rows[i] = BulkRow{Row: b.firstRow + i, Batch: b.seq, Digest: hex.EncodeToString(b.hashes[i][:8])}
	}
	retry := false
	notIssued := func(reason string) {
		b.failed = true
		for i := range b.rows {
			if b.errs[i] != nil {
				b.rows[i].Status, b.rows[i].Errors = RowRejected, b.errs[i]
			} else {
				b.rows[i].Status, b.rows[i].Retry = RowNotIssued, retry
				b.rows[i].Errors = []FieldError{{"(batch)", reason}}
			}
		}
	}
	if b.invalid > 0 {
		notIssued(fmt.Sprintf("not issued: batch %d has %d invalid rows", b.seq, b.invalid))
		return
	}
	if ctx.Err() != nil {
		retry = true
		notIssued("not issued: the request was cancelled")
		return
	}
	origin, err := s.logOrigin(ctx, p.Department)
	if err != nil {
		s.log.Warn("bulk batch not issued: issuance log", "err", err)
		retry = true
		notIssued("not issued: the issuance log is unavailable; send the batch again")
		return
	}
	params := store.IssueParams{DepartmentCode: p.Department, TypeCode: b.typeCode, LogOrigin: origin}
	if opts.IdempotencyKey != "" {
		params.RowHashes = b.hashes
		for i := range b.reqs {
			params.RowKeys = append(params.RowKeys, RowKey(opts.IdempotencyKey, b.firstRow+i))
		}
	}
	built := make([]bool, len(b.reqs))
	start := time.Now()
	var sign time.Duration
	var ls []store.Licence
	err = s.withActiveKey(p.Department, func() error {
		sg, err := s.activeSigner(ctx, p.Department)
		if err != nil {
			return err
		}
		sign = 0
		clear(built)
		params.KeyID = sg.id.String()
		ls, err = s.store.IssueBatch(ctx, params, len(b.reqs),
			func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
				built[i] = true
				t := time.Now()
				pr := *b.reqs[i]
				pr.sg = sg
				l, err := s.build(&pr, a, now, "")
				sign += time.Since(t)
				if err != nil {
					return store.Licence{}, store.AuditEvent{}, err
				}
				return l, store.AuditEvent{Actor: p.TokenID, Action: "licence.issue", Subject: l.ID, Detail: issueDetail(&l)}, nil
			})
		return err
	})
	b.sign = sign
	if err == nil {
		n := 0
		for i, l := range ls {
			b.rows[i].Status, b.rows[i].ID, b.rows[i].Replayed = RowIssued, l.ID, !built[i]
			if built[i] {
				n++
			}
		}
		s.metrics.issued.WithLabelValues("bulk").Add(float64(n))
	}
	b.total = time.Since(start)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotAuthorised):
		notIssued("not issued: the department is not authorised for this licence type")
	case errors.Is(err, store.ErrIdempotencyMismatch):
		notIssued("not issued: a row differs from the row sent before under the same Idempotency-Key")
	case errors.Is(err, ErrUnavailable):
		retry = true
		notIssued("not issued: the department's signing key changed or none is active; send the upload again with the same Idempotency-Key")
	case store.IsUnavailable(err):
		b.unavailable, retry = true, true
		notIssued("not issued: the licence store is unavailable; send the upload again with the same Idempotency-Key")
	default:
		retry = true
		if ctx.Err() == nil {
			s.log.Error("bulk issuance: batch failed", "batch", b.seq, "err", err)
		}
		notIssued("not issued: the batch could not be stored")
	}
}

// rowReader reads bulk rows. next returns a request, or field errors for
// a row that cannot be read as one, or io.EOF, or a fatal read error.
type rowReader interface {
	next() (*Request, []FieldError, error)
}

func newRowReader(r io.Reader, opts BulkOptions) (rowReader, error) {
	switch opts.Format {
	case BulkNDJSON:
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), MaxBulkLine)
		return &ndjsonReader{sc: sc}, nil
	case BulkCSV:
		cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
		cr.FieldsPerRecord = 0
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err == io.EOF {
			return nil, fieldError("(body)", "empty CSV: want a header row")
		}
		if err != nil {
			return nil, fieldError("(body)", "CSV header: %v", err)
		}
		return newCSVReader(cr, header)
	}
	return nil, fieldError("format", "want %s or %s", BulkNDJSON, BulkCSV)
}

type ndjsonReader struct {
	sc *bufio.Scanner
}

func (n *ndjsonReader) next() (*Request, []FieldError, error) {
	for n.sc.Scan() {
		line := bytes.TrimSpace(n.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if fast := new(Request); decodeRowFast(line, fast) {
			return fast, nil, nil
		}
		// Anything else, and every error, as encoding/json reads it.
		var req Request
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return &req, []FieldError{{"(row)", jsonReason(err)}}, nil
		}
		if dec.More() {
			return &req, []FieldError{{"(row)", "more than one JSON value on the line"}}, nil
		}
		return &req, nil, nil
	}
	if err := n.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fieldError("(body)", "a line is longer than %d bytes", MaxBulkLine)
		}
		return nil, nil, err
	}
	return nil, nil, io.EOF
}

// jsonReason describes a JSON decoding error without echoing the input.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: want %s, got JSON %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

type csvReader struct {
	cr   *csv.Reader
	cols []string // request field per column: type, holder_name, ..., or "fields.<key>"
}

func newCSVReader(cr *csv.Reader, header []string) (*csvReader, error) {
	c := &csvReader{cr: cr}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark from spreadsheet exports
		}
		switch h {
		case "type", "holder_name", "holder_id", "valid_from", "valid_until":
		case "":
			return nil, fieldError("(header)", "column %d has no name", i+1)
		default:
			h = "fields." + strings.TrimPrefix(h, "fields.")
		}
		if seen[h] {
			return nil, fieldError("(header)", "column %s appears twice", h)
		}
		seen[h] = true
		c.cols = append(c.cols, h)
	}
	if !seen["holder_name"] || !seen["holder_id"] || !seen["valid_from"] {
		return nil, fieldError("(header)", "want at least the columns holder_name, holder_id and valid_from")
	}
	return c, nil
}

func (c *csvReader) next() (*Request, []FieldError, error) {
	rec, err := c.cr.Read()
	if err == io.EOF {
		return nil, nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &Request{}, []FieldError{{"(row)", fmt.Sprintf("%d columns, the header has %d", len(rec), len(c.cols))}}, nil
		}
		return nil, nil, fieldError("(body)", "CSV line %d: %v", pe.Line, pe.Err)
	}
	if err != nil {
		return nil, nil, err
	}
	req := &Request{}
	for i, v := range rec {
		switch col := c.cols[i]; col {
		case "type":
			req.Type = v
		case "holder_name":
			req.HolderName = v
		case "holder_id":
			req.HolderID = v
		case "valid_from":
			req.ValidFrom = v
		case "valid_until":
			req.ValidUntil = v
		default:
			if v != "" {
				if req.Fields == nil {
					req.Fields = map[string]string{}
				}
				req.Fields[strings.TrimPrefix(col, "fields.")] = v
			}
		}
	}
	return req, nil, nil
}
