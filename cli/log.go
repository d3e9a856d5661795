package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"elicence/format"
	"elicence/tlog"
	"elicence/verifier"
)

// logVerifyCommand is "elicence log verify": the monitor of one
// department's issuance log (docs/design/issuance-log.md, monitoring).
func logVerifyCommand() Command {
	return Command{
		Name:    "log verify",
		Summary: "follow a department's issuance log: cosignatures, consistency, forks, leaves its records do not know; exit 0 sound, 1 problem, 2 unreachable",
		Setup: func(fs *flag.FlagSet) RunFunc {
			trustLoc := fs.String("trust", "", "signed trust list `file` or URL (http, https), naming the department's log and the witness")
			rootFile := fs.String("root", "", "root certificate or public key `file` (PEM) the trust list is signed by")
			dir := fs.String("keys", "", "key `directory` whose root.crt to use instead of --root")
			dept := fs.String("dept", "", "department `code` (default: the only department with a log in the trust list)")
			logURL := fs.String("url", "", "fetch the log from this URL `prefix` instead of the trust list's (a mirror)")
			stateFile := fs.String("state", "", "state `file`: the last checkpoint verified, read at the start and written at the end (created if missing)")
			records := fs.String("records", "", "the department's own records: a `file` (- for standard input) or http(s) URL of lines, each a leaf hash (64 hex) or a licence or receipt QR text (LC…, LD2:…, or their QR URLs)")
			var extra stringList
			fs.Var(&extra, "checkpoint", "a checkpoint note `file` seen elsewhere (by a verifier, a witness) to check against the log (repeatable)")
			asJSON := fs.Bool("json", false, "print the report as JSON")
			timeout := fs.Duration("timeout", 30*time.Second, "bound on each fetch from the log")
			return func(ctx context.Context, e *Env, args []string) error {
				switch {
				case len(args) > 0:
					return Usagef("unexpected argument %q", args[0])
				case *trustLoc == "":
					return Usagef("no trust list: pass --trust FILE or --trust URL (e.g. https://issuer.example/v1/trust-list)")
				case *rootFile == "" && *dir == "":
					return Usagef("no root key: pass --root root.crt or --keys DIR")
				case *rootFile != "" && *dir != "":
					return Usagef("pass only one of --root and --keys")
				case *timeout <= 0:
					return Usagef("--timeout must be positive")
				}
				if *dept != "" {
					if err := checkCode("dept", *dept); err != nil {
						return err
					}
				}
				client := &http.Client{Timeout: *timeout}
				mon, err := newLogMonitor(ctx, e, client, *trustLoc, *rootFile, *dir, *dept, *logURL)
				if err != nil {
					return err
				}
				if *records != "" {
					known, n, err := readRecords(ctx, e, client, *records)
					if err != nil {
						return err
					}
					mon.known, mon.records = known, n
				}
				rep := mon.run(ctx, *stateFile, extra)
				if rep.Result == logError {
					return errors.New(rep.Error)
				}
				if *asJSON {
					enc := json.NewEncoder(e.Stdout)
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					if err := enc.Encode(rep); err != nil {
						return err
					}
				} else {
					rep.write(e.Stdout)
				}
				switch rep.Result {
				case logSound:
					return nil
				case logProblem:
					return exitStatus(ExitFailed)
				}
				return exitStatus(ExitIndeterminate)
			}
		},
	}
}

// Results of a log verify run.
const (
	logSound       = "SOUND"       // consistent, co-signed, every leaf known (or not checked)
	logProblem     = "PROBLEM"     // fork, inconsistency, no cosignature, unknown leaves
	logUnreachable = "UNREACHABLE" // the log could not be fetched: try later
	logError       = "ERROR"       // the run could not do its work (state file)
)

// logReport is what one run found, as printed.
type logReport struct {
	Result     string `json:"result"`
	Origin     string `json:"origin"`
	URL        string `json:"url"`
	Size       uint64 `json:"size,omitempty"`
	Root       string `json:"root,omitempty"`
	Witness    string `json:"witness,omitempty"`
	CosignedAt string `json:"cosigned_at,omitempty"`
	// PreviousSize is the size of the state's checkpoint the new one was
	// proven to extend; From and To bound the leaves checked in this run.
	PreviousSize *uint64 `json:"previous_size,omitempty"`
	From         uint64  `json:"from"`
	To           uint64  `json:"to"`
	// Records is how many leaf hashes the department's records gave; nil
	// when no records were given (misissuance not checked).
	Records  *int           `json:"records,omitempty"`
	Unknown  []unknownLeaf  `json:"unknown_leaves,omitempty"`
	Problems []string       `json:"problems,omitempty"`
	Fork     *forkEvidence  `json:"fork,omitempty"`
	Extra    []extraOutcome `json:"checkpoints,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type unknownLeaf struct {
	Index      uint64 `json:"index"`
	LeafHash   string `json:"leaf_hash"`
	Kind       string `json:"kind,omitempty"`
	ObjectHash string `json:"object_hash,omitempty"`
}

// forkEvidence is the two signed notes that cannot be one history.
type forkEvidence struct {
	Reason  string `json:"reason"`
	OldNote string `json:"old_note,omitempty"`
	NewNote string `json:"new_note"`
}

type extraOutcome struct {
	File string `json:"file"`
	Size uint64 `json:"size,omitempty"`
	OK   bool   `json:"consistent"`
	Err  string `json:"error,omitempty"`
}

// logMonitor is one run of log verify over one department's log.
type logMonitor struct {
	now     func() time.Time
	origin  string
	base    string
	monitor *tlog.Monitor
	fetch   tlog.HTTPFetchers
	witness string
	known   map[[tlog.HashSize]byte]bool
	records int
}

func newLogMonitor(ctx context.Context, e *Env, client *http.Client, trustLoc, rootFile, dir, dept, logURL string) (*logMonitor, error) {
	trust, d, err := logDepartment(ctx, e, client, trustLoc, rootFile, dir, dept)
	if err != nil {
		return nil, err
	}
	logKey, witness, err := verifier.LogVerifiers(trust.List, d.Log)
	if err != nil {
		return nil, fmt.Errorf("department %s: %w", d.Code, err)
	}
	base := d.Log.URL
	if logURL != "" {
		base = logURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, Usagef("log URL %q: want an http or https URL prefix", base)
	}
	m := &logMonitor{now: e.Now, origin: d.Log.Origin, base: base, fetch: tlog.HTTPFetchers{Client: client, Base: u}, witness: witness.Name()}
	m.monitor, err = tlog.NewMonitor(tlog.MonitorConfig{Origin: d.Log.Origin, LogKey: logKey, Witnesses: []note.Verifier{witness},
		Tiles: m.fetch.Tile, Entries: m.fetch.EntryBundle, Known: m.isKnown})
	if err != nil {
		return nil, fmt.Errorf("department %s: %w", d.Code, err)
	}
	return m, nil
}

// logDepartment reads and verifies the trust list and returns the
// department with a log named dept (or the only one).
func logDepartment(ctx context.Context, e *Env, client *http.Client, trustLoc, rootFile, dir, dept string) (*verifier.Trust, *format.Department, error) {
	root, err := readRootKey(rootFile, dir)
	if err != nil {
		return nil, nil, err
	}
	raw, err := readSource(ctx, client, trustLoc, format.MaxSigned)
	if err != nil {
		return nil, nil, fmt.Errorf("read trust list: %w", err)
	}
	trust, err := verifier.NewTrust(root, raw, e.Now())
	if err != nil {
		name := rootFile
		if name == "" {
			name = filepath.Join(dir, "root.crt")
		}
		return nil, nil, trustHint(err, trustLoc, name)
	}
	var d *format.Department
	var logged []string
	for i := range trust.List.Departments {
		td := &trust.List.Departments[i]
		if td.Log == nil {
			continue
		}
		logged = append(logged, td.Code)
		if dept == "" || td.Code == dept {
			d = td
		}
	}
	switch {
	case dept != "" && (d == nil || d.Code != dept):
		return nil, nil, Usagef("--dept %s: no department of that code keeps a log in the trust list (departments with a log: %s)", dept, listOrNone(logged))
	case dept == "" && len(logged) != 1:
		return nil, nil, Usagef("pass --dept CODE: the trust list names %d departments with a log (%s)", len(logged), listOrNone(logged))
	}
	return trust, d, nil
}

func listOrNone(codes []string) string {
	if len(codes) == 0 {
		return "none"
	}
	return strings.Join(codes, ", ")
}

// isKnown is the monitor's Known: nil records know every leaf.
func (m *logMonitor) isKnown(h []byte) bool {
	return m.known == nil || len(h) == tlog.HashSize && m.known[[tlog.HashSize]byte(h)]
}

// logState is the --state file: the last checkpoint verified and the
// compact range of its tree.
type logState struct {
	Origin     string   `json:"origin"`
	Checkpoint string   `json:"checkpoint"`
	Range      []string `json:"range"`
	CheckedAt  string   `json:"checked_at"`
}

// run checks the log once: resume from the state, verify the latest
// checkpoint and the extra ones, save the state unless the log forked.
func (m *logMonitor) run(ctx context.Context, stateFile string, extra []string) *logReport {
	rep := &logReport{Result: logSound, Origin: m.origin, URL: m.base}
	if m.known != nil {
		n := m.records
		rep.Records = &n
	}
	fail := func(res, msg string) *logReport {
		rep.Result, rep.Error = res, msg
		return rep
	}
	if stateFile != "" {
		prev, err := readLogState(stateFile, m.origin)
		if err != nil {
			return fail(logError, err.Error())
		}
		if prev != nil {
			if err := m.monitor.Resume(*prev); err != nil {
				return fail(logError, fmt.Sprintf("state file %s: %v (if the trust list changed the log's key, move the file away to start afresh)", stateFile, err))
			}
			cp, _ := m.monitor.Latest()
			size := cp.Size
			rep.PreviousSize = &size
		}
	}
	latest, err := m.fetch.Checkpoint(ctx)
	if err != nil {
		return fail(logUnreachable, "fetch the latest checkpoint: "+err.Error())
	}
	res, err := m.monitor.Update(ctx, latest)
	if r := m.problem(rep, err); r != nil {
		return r
	}
	rep.Size, rep.From, rep.To = res.Checkpoint.Size, res.From, res.To
	rep.Root = base64.StdEncoding.EncodeToString(res.Checkpoint.Hash)
	cosigned := false
	for _, c := range res.Checkpoint.Cosignatures {
		if c.Name == m.witness {
			cosigned, rep.Witness, rep.CosignedAt = true, c.Name, c.Time.Format(time.RFC3339)
		}
	}
	if !cosigned {
		rep.Result = logProblem
		rep.Problems = append(rep.Problems, fmt.Sprintf("the latest checkpoint (size %d) carries no cosignature by the witness %s", res.Checkpoint.Size, m.witness))
	}
	for _, u := range res.Unknown {
		ul := unknownLeaf{Index: u.Index, LeafHash: hex.EncodeToString(u.LeafHash)}
		if u.Leaf != nil {
			ul.Kind, ul.ObjectHash = u.Leaf.Kind.String(), hex.EncodeToString(u.Leaf.ObjectHash[:])
		}
		rep.Unknown = append(rep.Unknown, ul)
	}
	if len(rep.Unknown) > 0 {
		rep.Result = logProblem
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d logged leaves are not in the department's records: signed and logged, but never recorded (misissuance?)", len(rep.Unknown)))
	}
	for _, f := range extra {
		out := extraOutcome{File: f}
		b, err := os.ReadFile(f)
		if err != nil {
			return fail(logError, "read checkpoint: "+err.Error())
		}
		r, err := m.monitor.Update(ctx, b)
		if fr := m.problem(rep, err); fr != nil {
			out.Err = rep.Error
			rep.Extra = append(rep.Extra, out)
			return fr
		}
		out.Size, out.OK = r.Checkpoint.Size, true
		rep.Extra = append(rep.Extra, out)
	}
	if stateFile != "" {
		if err := m.saveState(stateFile); err != nil {
			return fail(logError, err.Error())
		}
	}
	return rep
}

// problem turns a monitor error into the report's verdict: a fork or an
// inconsistency (with both notes), a checkpoint that does not verify, or
// a log that could not be fetched. Nil when err is nil.
func (m *logMonitor) problem(rep *logReport, err error) *logReport {
	var fe *tlog.ForkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		rep.Result, rep.Error = logProblem, err.Error()
		rep.Fork = &forkEvidence{Reason: err.Error(), OldNote: string(fe.OldNote), NewNote: string(fe.NewNote)}
		rep.Problems = append(rep.Problems, "FORK: the log has shown two histories; both signed notes are kept above as evidence, and the state was not advanced")
	case errors.Is(err, tlog.ErrBadCheckpoint):
		rep.Result, rep.Error = logProblem, err.Error()
		rep.Problems = append(rep.Problems, "the log serves a checkpoint that does not verify under the trust list's keys")
	default:
		rep.Result, rep.Error = logUnreachable, err.Error()
	}
	return rep
}

func readLogState(path, origin string) (*tlog.MonitorState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s logState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s: not a log verify state: %v", path, err)
	}
	if s.Origin != origin {
		return nil, fmt.Errorf("state file %s is of log %q, not %q: give each log its own --state", path, s.Origin, origin)
	}
	st := &tlog.MonitorState{Note: []byte(s.Checkpoint)}
	for _, h := range s.Range {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("state file %s: range hash is not base64", path)
		}
		st.Range = append(st.Range, b)
	}
	return st, nil
}

// saveState writes the monitor's state atomically.
func (m *logMonitor) saveState(path string) error {
	st, ok := m.monitor.State()
	if !ok {
		return nil
	}
	s := logState{Origin: m.origin, Checkpoint: string(st.Note), CheckedAt: m.now().UTC().Format(time.RFC3339), Range: []string{}}
	for _, h := range st.Range {
		s.Range = append(s.Range, base64.StdEncoding.EncodeToString(h))
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".log-state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// readSource reads a file or an http(s) URL.
func readSource(ctx context.Context, client *http.Client, loc string, limit int64) ([]byte, error) {
	r, err := openSource(ctx, client, loc)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", redactURL(loc), limit)
	}
	return b, nil
}

func openSource(ctx context.Context, client *http.Client, loc string) (io.ReadCloser, error) {
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		return os.Open(loc)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", redactURL(loc), resp.Status)
	}
	return resp.Body, nil
}

// readRecords reads the department's records: one leaf hash or QR text a
// line; blank lines and lines starting with # are skipped.
func readRecords(ctx context.Context, e *Env, client *http.Client, loc string) (map[[tlog.HashSize]byte]bool, int, error) {
	var r io.ReadCloser
	var err error
	if loc == "-" {
		r = io.NopCloser(e.Stdin)
	} else if r, err = openSource(ctx, client, loc); err != nil {
		return nil, 0, fmt.Errorf("read records: %w", err)
	}
	defer r.Close()
	known := map[[tlog.HashSize]byte]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), format.MaxQRText+1024)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		h, err := recordLeafHash(s)
		if err != nil {
			return nil, 0, fmt.Errorf("records %s line %d: %w", redactURL(loc), line, err)
		}
		known[h] = true
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read records %s (line %d): %w", redactURL(loc), line+1, err)
	}
	return known, len(known), nil
}

// recordLeafHash is the leaf hash of one records line: the hash itself, or
// that of the leaf of the credential or receipt a QR text carries.
func recordLeafHash(s string) ([tlog.HashSize]byte, error) {
	var h [tlog.HashSize]byte
	if len(s) == 2*tlog.HashSize {
		if b, err := hex.DecodeString(s); err == nil {
			copy(h[:], b)
			return h, nil
		}
	}
	l, err := qrLeaf(s)
	if err != nil {
		return h, fmt.Errorf("neither a leaf hash (64 hex digits) nor a QR text: %v", err)
	}
	copy(h[:], l.Hash())
	return h, nil
}

// qrLeaf is the leaf the issuer logs for the credential or document receipt
// a QR text (or QR URL) carries.
func qrLeaf(s string) (tlog.Leaf, error) {
	q, err := format.ParseQR(s)
	if err != nil {
		return tlog.Leaf{}, err
	}
	switch q.Kind {
	case format.KindCredential:
		return tlog.NewLeaf(tlog.KindCredential, q.Envelope), nil
	case format.KindDocumentReceipt:
		return tlog.NewLeaf(tlog.KindDocumentReceipt, q.Envelope), nil
	}
	return tlog.Leaf{}, fmt.Errorf("a %s QR text: give the licence's own QR text (LC…) or the receipt's (LD2:…)", q.Kind)
}

// write prints the report for people.
func (r *logReport) write(w io.Writer) {
	fmt.Fprintf(w, "log %s (%s): %s\n", r.Origin, r.URL, r.Result)
	if r.Size > 0 || r.Root != "" {
		fmt.Fprintf(w, "  checkpoint  size %d root %s\n", r.Size, r.Root)
	}
	if r.Witness != "" {
		fmt.Fprintf(w, "  witness     %s, co-signed %s\n", r.Witness, r.CosignedAt)
	}
	switch {
	case r.PreviousSize != nil && *r.PreviousSize == r.Size:
		fmt.Fprintf(w, "  unchanged   since the last run (size %d)\n", r.Size)
	case r.PreviousSize != nil:
		fmt.Fprintf(w, "  extends     the last run's checkpoint of size %d\n", *r.PreviousSize)
	}
	if r.To > r.From {
		fmt.Fprintf(w, "  leaves      %d to %d checked\n", r.From, r.To-1)
	}
	if r.Records != nil {
		fmt.Fprintf(w, "  records     %d leaf hashes; %d of the leaves checked in this run unknown to them\n", *r.Records, len(r.Unknown))
	} else if r.Result != logError && r.Result != logUnreachable {
		fmt.Fprintf(w, "  records     not checked (pass --records to find leaves the department never recorded)\n")
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(w, "  UNKNOWN     leaf %d hash %s", u.Index, u.LeafHash)
		if u.Kind != "" {
			fmt.Fprintf(w, " (%s, object SM3 %s)", u.Kind, u.ObjectHash)
		}
		fmt.Fprintln(w)
	}
	for _, x := range r.Extra {
		if x.OK {
			fmt.Fprintf(w, "  checkpoint  %s (size %d) is consistent with the log\n", x.File, x.Size)
		} else {
			fmt.Fprintf(w, "  checkpoint  %s: %s\n", x.File, x.Err)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  PROBLEM     %s\n", p)
	}
	if f := r.Fork; f != nil {
		fmt.Fprintf(w, "  evidence    %s\n", f.Reason)
		if f.OldNote != "" {
			fmt.Fprintf(w, "--- first note\n%s", f.OldNote)
		}
		fmt.Fprintf(w, "--- conflicting note\n%s", f.NewNote)
	}
	if r.Error != "" && r.Fork == nil {
		fmt.Fprintf(w, "  error       %s\n", r.Error)
	}
}
