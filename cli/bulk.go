package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/api"
	"elicence/issuer"
)

func bulkIssueCommand() Command {
	return Command{
		Name:    "bulk-issue",
		Args:    "FILE",
		Summary: "issue licences from an NDJSON or CSV file through a running issuer, batch by batch; resumes by itself",
		Setup: func(fs *flag.FlagSet) RunFunc {
			typ := fs.String("type", "", "licence type `code` of rows that name none")
			batch := fs.Int("batch-size", issuer.DefaultBulkBatchSize, "rows per all-or-nothing batch")
			format := fs.String("format", "", "input `format`: ndjson or csv (default: from the file name)")
			key := fs.String("idempotency-key", "", "names the upload, so that sending it again issues only the rows not yet issued (default: derived from the file's content and --type; pass another `key` to issue the same rows again)")
			retries := fs.Int("retries", 5, "how many `times` to send the upload again when the answer is incomplete or the issuer is unavailable")
			chunked := fs.Bool("chunked", false, "send the upload with chunked transfer encoding instead of a Content-Length")
			cf := addClientFlags(fs)
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) != 1 {
					return Usagef("want one input file (- for standard input)")
				}
				f := *format
				if f == "" {
					switch strings.ToLower(filepath.Ext(args[0])) {
					case ".csv":
						f = issuer.BulkCSV
					case ".ndjson", ".jsonl":
						f = issuer.BulkNDJSON
					default:
						return Usagef("cannot tell the format of %s: pass --format ndjson or csv", args[0])
					}
				}
				ct := map[string]string{issuer.BulkCSV: "text/csv", issuer.BulkNDJSON: "application/x-ndjson"}[f]
				if ct == "" {
					return Usagef("--format %q: want ndjson or csv", f)
				}
				if len(*key) > issuer.MaxBulkKey {
					return Usagef("--idempotency-key: at most %d bytes", issuer.MaxBulkKey)
				}
				if *retries < 0 {
					return Usagef("--retries: want 0 or more")
				}
				in, err := openUpload(e, args[0])
				if err != nil {
					return err
				}
				defer in.Close()
				u := &upload{file: in, contentType: ct, format: f, typ: *typ, batch: *batch, key: *key, chunked: *chunked}
				if err := u.prepare(); err != nil {
					return err
				}
				return u.run(ctx, e, cf, *retries)
			}
		},
	}
}

// openUpload opens the input file; standard input is copied to a
// temporary file first, so that the upload can be read twice (to know its
// rows) and sent again.
func openUpload(e *Env, name string) (*os.File, error) {
	if name != "-" {
		return os.Open(name)
	}
	tmp, err := os.CreateTemp("", "elicence-bulk-")
	if err != nil {
		return nil, err
	}
	os.Remove(tmp.Name()) // removed when closed
	stdin := e.Stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	if _, err := io.Copy(tmp, stdin); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	return tmp, nil
}

// upload is one bulk upload and what the issuer answered for its rows.
type upload struct {
	file                          *os.File
	contentType, format, typ, key string
	batch                         int
	chunked                       bool
	size                          int64

	digests  []string          // per row (row n is digests[n-1])
	outcomes []*issuer.BulkRow // per row, the latest answer
}

// prepare reads the upload once: its rows' digests and, unless given, its
// idempotency key.
func (u *upload) prepare() error {
	h := sm3.New()
	fmt.Fprintf(h, "elicence bulk upload\n%s\n%s\n", u.format, u.typ)
	n, err := io.Copy(h, u.file)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	u.size = n
	if u.key == "" {
		u.key = "sm3-" + hex.EncodeToString(h.Sum(nil))[:40]
	}
	if _, err := u.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	u.digests, err = issuer.BulkDigests(bufio.NewReader(u.file), u.format, u.typ)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	u.outcomes = make([]*issuer.BulkRow, len(u.digests))
	return nil
}

// errAccounting reports an answer that does not account for the upload
// row by row; it is never retried, and none of its lines is trusted.
var errAccounting = errors.New("the issuer's answer does not account for the upload")

// run sends the upload until every row has a final outcome or the retries
// are spent, then reports each row.
func (u *upload) run(ctx context.Context, e *Env, cf *clientFlags, retries int) error {
	var last error
	for attempt := 0; ; attempt++ {
		wait, err := u.send(ctx, cf)
		if err == nil || errors.Is(err, errAccounting) {
			last = err
			break
		}
		var perm permanentError
		if errors.As(err, &perm) || attempt >= retries {
			last = err
			break
		}
		if wait <= 0 {
			wait = min(time.Second<<attempt, 30*time.Second)
		}
		fmt.Fprintf(e.Stderr, "%v; sending the upload again with Idempotency-Key %s in %s (%d of %d)\n", err, u.key, wait, attempt+1, retries)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if errors.Is(last, errAccounting) {
		fmt.Fprintf(e.Stderr, "error: %v\nno row is reported; send the upload again with --idempotency-key %s to get the licences of the rows already issued\n", last, u.key)
		return exitStatus(ExitError)
	}
	return u.report(e, last)
}

// permanentError is an answer that sending again would not change.
type permanentError struct{ error }

// send sends the upload once and records the rows' outcomes. It returns
// an error if some row has no final outcome, with how long the issuer
// asked to wait before trying again.
func (u *upload) send(ctx context.Context, cf *clientFlags) (time.Duration, error) {
	if _, err := u.file.Seek(0, io.SeekStart); err != nil {
		return 0, permanentError{err}
	}
	q := fmt.Sprintf("/v1/licences/batch?batch_size=%d", u.batch)
	if u.typ != "" {
		q += "&type=" + u.typ
	}
	tok, err := cf.bearer()
	if err != nil {
		return 0, permanentError{err}
	}
	var body io.Reader = io.NopCloser(u.file) // hides the size: chunked
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*cf.server, "/")+q, body)
	if err != nil {
		return 0, permanentError{Usagef("--server: %v", err)}
	}
	if !u.chunked {
		req.ContentLength = u.size
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", u.contentType)
	req.Header.Set("Idempotency-Key", u.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call issuer: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		err := answerError(res)
		switch res.StatusCode {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests, http.StatusInternalServerError:
			return time.Duration(wait) * time.Second, err
		}
		return 0, permanentError{err}
	}
	return 0, u.read(res.Body)
}

// answerError describes an answer that is not a row stream.
func answerError(res *http.Response) error {
	var p api.Problem
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if json.Unmarshal(b, &p) == nil && p.Title != "" {
		msg := fmt.Sprintf("issuer answered %d %s: %s", p.Status, p.Title, p.Detail)
		for _, f := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Reason)
		}
		return errors.New(msg)
	}
	return fmt.Errorf("issuer answered %s", res.Status)
}

// read checks an answer row by row against the upload: each row once, in
// range, with its own content's digest, and no licence twice.
func (u *upload) read(r io.Reader) error {
	dec := json.NewDecoder(r)
	seen := make([]bool, len(u.digests))
	ids := map[string]int{}
	var sum *issuer.BulkSummary
	var streamErr string
	for {
		var line struct {
			issuer.BulkRow
			Summary *issuer.BulkSummary `json:"summary"`
			Error   *struct {
				Detail string `json:"detail"`
			} `json:"error"`
		}
		if err := dec.Decode(&line); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("the answer broke off: %w", err)
		}
		if line.Error != nil {
			streamErr = line.Error.Detail
		}
		if line.Summary != nil {
			sum = line.Summary
			continue
		}
		row := line.BulkRow
		switch {
		case row.Row < 1 || row.Row > len(u.digests):
			return fmt.Errorf("%w: row %d answered, the upload has %d rows", errAccounting, row.Row, len(u.digests))
		case seen[row.Row-1]:
			return fmt.Errorf("%w: row %d answered twice", errAccounting, row.Row)
		case row.Digest != u.digests[row.Row-1]:
			return fmt.Errorf("%w: the answer for row %d is for other content (digest %s, the row's is %s)", errAccounting, row.Row, row.Digest, u.digests[row.Row-1])
		case row.Status == issuer.RowIssued && row.ID == "":
			return fmt.Errorf("%w: row %d issued without a licence identifier", errAccounting, row.Row)
		}
		if row.ID != "" {
			if other, ok := ids[row.ID]; ok {
				return fmt.Errorf("%w: licence %s answered for rows %d and %d", errAccounting, row.ID, other, row.Row)
			}
			ids[row.ID] = row.Row
		}
		seen[row.Row-1] = true
		u.outcomes[row.Row-1] = &row
	}
	if streamErr != "" {
		return fmt.Errorf("the issuer stopped: %s", streamErr)
	}
	if sum == nil {
		return errors.New("the answer broke off before its summary")
	}
	missing := 0
	for _, s := range seen {
		if !s {
			missing++
		}
	}
	if missing > 0 || sum.Rows != len(u.digests) {
		return fmt.Errorf("%w: %d of %d rows not answered (summary: %d rows)", errAccounting, missing, len(u.digests), sum.Rows)
	}
	for _, o := range u.outcomes {
		if o.Retry {
			return errors.New("some batches could not be issued for now")
		}
	}
	return nil
}

// report prints each row's outcome: issued rows as "row<TAB>identifier" on
// standard output, the others on standard error, then a summary. It fails
// unless every row is issued.
func (u *upload) report(e *Env, last error) error {
	issued, replayed, rejected, notIssued, unknown := 0, 0, 0, 0, 0
	for i, o := range u.outcomes {
		switch {
		case o == nil:
			unknown++
		case o.Status == issuer.RowIssued:
			issued++
			if o.Replayed {
				replayed++
			}
			fmt.Fprintf(e.Stdout, "%d\t%s\n", i+1, o.ID)
		default:
			if o.Status == issuer.RowRejected {
				rejected++
			} else {
				notIssued++
			}
			var reasons []string
			for _, fe := range o.Errors {
				reasons = append(reasons, fe.Field+": "+fe.Reason)
			}
			fmt.Fprintf(e.Stderr, "row %d %s: %s\n", i+1, o.Status, strings.Join(reasons, "; "))
		}
	}
	if last != nil {
		fmt.Fprintf(e.Stderr, "error: %v\n", last)
	}
	fmt.Fprintf(e.Stderr, "%d rows: %d issued (%d by an earlier send), %d rejected, %d not issued, %d without an answer\n",
		len(u.outcomes), issued, replayed, rejected, notIssued, unknown)
	if issued != len(u.outcomes) || last != nil {
		if unknown > 0 || notIssued > 0 {
			fmt.Fprintf(e.Stderr, "send the upload again (same file and --type, or --idempotency-key %s) to finish it; rows already issued are not issued twice\n", u.key)
		}
		return exitStatus(ExitError)
	}
	return nil
}
