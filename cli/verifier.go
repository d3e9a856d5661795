package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"elicence/api/verifierapi"
	"elicence/verifier"
	"elicence/web"
)

// verifierEnvPrefix prefixes the environment variables that set the flags
// of "verifier serve": --max-staleness is ELICENCE_VERIFIER_MAX_STALENESS.
const verifierEnvPrefix = "ELICENCE_VERIFIER_"

func verifierServeCommand() Command {
	return Command{
		Name:    "verifier serve",
		Summary: "run the stateless verifier service (POST /v1/verify) for a relying department",
		Setup: func(fs *flag.FlagSet) RunFunc {
			env := envFlag(verifierEnvPrefix)
			root := fs.String("root", "", env("root", "pinned root certificate or public key `file` (PEM)"))
			rootKey := fs.String("root-key", "", env("root-key", "pinned root public key `file` (PEM), instead of --root"))
			trust := fs.String("trust", "", env("trust", "trust list `URL` (http, https) or file (offline mode)"))
			statusDir := fs.String("status-dir", "", env("status-dir", "read status lists from this `directory` instead of fetching them (offline mode)"))
			logProofs := fs.String("log-proofs", "", env("log-proofs", "read issuance-log proofs of existence (tlog-proof files) from this `directory`, an offline bundle's tlog-proofs/; with a --trust file they are the only ones used"))
			var events stringList
			fs.Var(&events, "events", env("events", "revocation event stream `URL` (repeatable; default: derived from a --trust URL ending in /v1/trust-list)"))
			noStream := fs.Bool("no-stream", false, env("no-stream", "do not subscribe to the event stream; poll status lists only"))
			dept := fs.String("dept", "", env("dept", "this relying department's `code`, which annotated copies must name"))
			addr := fs.String("addr", "127.0.0.1:8081", env("addr", "listen `address`"))
			maxStale := fs.Duration("max-staleness", 0, env("max-staleness", "oldest status data accepted; older answers TRY_LATER (default: each list's own time-to-live plus "+verifier.DefaultStalenessGrace.String()+"; longer is your department's choice)"))
			skew := fs.Duration("skew", verifier.DefaultSkew, env("skew", "clock-skew tolerance for dynamic QR codes and annotated copies"))
			maxRefresh := fs.Duration("max-refresh", 15*time.Minute, env("max-refresh", "longest time between two fetches of the trust list or a status list"))
			grace := fs.Duration("grace", 10*time.Second, env("grace", "time given to requests in flight at shutdown"))
			logLevel := fs.String("log-level", "info", env("log-level", "log `level`: debug, info, warn or error"))
			return func(ctx context.Context, e *Env, args []string) error {
				if err := beginServe(fs, verifierEnvPrefix, args); err != nil {
					return err
				}
				var level slog.Level
				if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
					return Usagef("--log-level %q: want debug, info, warn or error", *logLevel)
				}
				switch {
				case *root == "" && *rootKey == "":
					return Usagef("no pinned root: pass --root root.crt or --root-key root.pub")
				case *root != "" && *rootKey != "":
					return Usagef("pass only one of --root and --root-key")
				case *trust == "":
					return Usagef("no trust list: pass --trust URL (e.g. http://issuer:8080/v1/trust-list) or --trust FILE")
				case *maxStale < 0 || *skew < 0 || *maxRefresh <= 0:
					return Usagef("--max-refresh must be positive, --max-staleness and --skew not negative")
				}
				if *dept != "" {
					if err := checkCode("dept", *dept); err != nil {
						return err
					}
				}
				rootFile := *root
				if rootFile == "" {
					rootFile = *rootKey
				}
				rootPub, err := readRootKey(rootFile, "")
				if err != nil {
					return err
				}
				isURL := strings.HasPrefix(*trust, "http://") || strings.HasPrefix(*trust, "https://")
				streams := []string(events)
				if *noStream {
					streams = nil
				} else if len(streams) == 0 && isURL && strings.HasSuffix(*trust, "/v1/trust-list") {
					streams = []string{strings.TrimSuffix(*trust, "/v1/trust-list") + "/v1/events"}
				}

				ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				log := slog.New(slog.NewJSONHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
				cache, err := verifier.New(ctx, verifier.FetchConfig{
					Root: rootPub, Trust: *trust, StatusDir: *statusDir, Events: streams,
					Now: e.Now, Logger: log, MaxRefresh: *maxRefresh, Skew: *skew,
				})
				if err != nil {
					return err
				}
				defer cache.Close()

				reg := newRegistry()
				srv := verifierapi.New(verifierapi.Config{
					Verify: verifier.Config{Trust: cache.Trust, Status: cache.Status, RefreshTrust: cache.RefreshTrust, Now: e.Now,
						MaxStaleness: *maxStale, Skew: *skew, Department: *dept,
						Memo:     verifier.NewSignatureMemo(verifier.DefaultMemoEntries),
						Evidence: logEvidence(log, *logProofs, !isURL)},
					Logger: log, Registry: reg, Gatherer: reg, Ready: cache.Ready, Stats: cache.Stats,
				})
				// The counter page (/counter) and the public verification
				// page (/verify) beside the API; POST /v1/verify, which
				// the pages leave to the API, answered natively on
				// fasthttp (api.ServeFast).
				h := web.VerifierPages().Wrap(srv)
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return fmt.Errorf("listen: %w", err)
				}
				log.Info("verifier listening", "addr", "http://"+ln.Addr().String(), "trust", redactURL(*trust),
					"status_dir", *statusDir, "streams", len(streams), "dept", *dept, "max_staleness", stalenessText(*maxStale))
				return serveUntilDone(ctx, log, "verifier", ln, h, srv.FastRoute(), *grace)
			}
		},
	}
}

// logEvidence is the verifier's source of proofs of existence: the
// departments' issuance logs online, the proofs directory first; offline
// (a trust list file) the proofs directory only, and none without one.
func logEvidence(log *slog.Logger, proofDir string, offline bool) verifier.Evidence {
	if offline && proofDir == "" {
		return nil
	}
	return verifier.NewLogEvidence(verifier.LogConfig{Logger: log, ProofDir: proofDir, Offline: offline})
}

// flagsFromEnv sets every flag of fs not given on the command line from the
// environment variable prefix+NAME (upper case, '-' as '_'), when set.
func flagsFromEnv(fs *flag.FlagSet, prefix string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(prefix, f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if _, list := f.Value.(*stringList); list {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					f.Value.Set(item)
				}
			}
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = Usagef("$%s %q: %v", name, v, e)
		}
	})
	return err
}

// redactURL drops the query of a URL, which may carry a token.
func redactURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// stalenessText describes a --max-staleness setting for the log.
func stalenessText(d time.Duration) string {
	if d == 0 {
		return "ttl+" + verifier.DefaultStalenessGrace.String()
	}
	return d.String()
}
