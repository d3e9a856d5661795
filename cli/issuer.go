package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"elicence/api"
	"elicence/api/issuerapi"
	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/issuer/store/storeopen"
	"elicence/keys"
	"elicence/web"
)

// issuerEnvPrefix prefixes the environment variables that set the flags
// of "issuer serve": --db is ELICENCE_ISSUER_DB.
const issuerEnvPrefix = "ELICENCE_ISSUER_"

// DefaultDataDir is where "serve" keeps its embedded store and demo keys.
const DefaultDataDir = "./data"

// storeFile is the embedded store's file name inside the data directory.
const storeFile = "elicence.db"

// serviceFlags are the service settings "serve" and "issuer serve" share.
type serviceFlags struct {
	addr, publicURL, logLevel *string
	statusTTL, trustValidity  *time.Duration
	presentationTTL, grace    *time.Duration
	rateLimit                 *float64
	maxStreams, streamsPerIP  *int
	eventNotify               *bool
	eventPoll                 *time.Duration
	// The wallet's sign-in through the identity provider.
	oidcIssuer, oidcClientID, oidcSecretFile, oidcRedirect, oidcHolderClaim *string
}

func addServiceFlags(fs *flag.FlagSet, env func(name, usage string) string) *serviceFlags {
	return &serviceFlags{
		addr:            fs.String("addr", "127.0.0.1:8080", env("addr", "listen `address`")),
		publicURL:       fs.String("public-url", "", env("public-url", "base `URL` the service is reached at, published in the trust list (default http://ADDR)")),
		logLevel:        fs.String("log-level", "info", env("log-level", "log `level`: debug, info, warn or error")),
		statusTTL:       fs.Duration("status-ttl", issuer.DefaultStatusTTL, env("status-ttl", "time-to-live of signed status lists")),
		trustValidity:   fs.Duration("trust-validity", issuer.DefaultTrustListValidity, env("trust-validity", "time until a signed trust list's next update")),
		presentationTTL: fs.Duration("presentation-ttl", issuer.DefaultPresentationTTL, env("presentation-ttl", "validity of dynamic presentation QR codes")),
		grace:           fs.Duration("grace", 10*time.Second, env("grace", "time given to requests in flight at shutdown")),
		rateLimit:       fs.Float64("rate-limit", issuerapi.DefaultRateLimit, env("rate-limit", "requests per second allowed per API token")),
		maxStreams:      fs.Int("max-streams", issuerapi.DefaultMaxStreams, env("max-streams", "event streams (GET /v1/events) served at once; beyond, 503")),
		streamsPerIP:    fs.Int("max-streams-per-client", issuerapi.DefaultMaxStreamsPerClient, env("max-streams-per-client", "event streams served at once to one client address; beyond, 429")),
		eventPoll:       fs.Duration("event-poll", issuer.DefaultEventPollInterval, env("event-poll", "how often the event stream polls the audit log for status changes")),
		eventNotify:     fs.Bool("event-notify", true, env("event-notify", "wake the event stream on the store's change notifications (PostgreSQL LISTEN/NOTIFY) as well as by polling; false polls only")),
		oidcIssuer:      fs.String("oidc-issuer", "", env("oidc-issuer", "OpenID Connect provider `URL` for the wallet's sign-in (none: department links only)")),
		oidcClientID:    fs.String("oidc-client-id", "", env("oidc-client-id", "client `ID` at the OpenID Connect provider")),
		oidcSecretFile:  fs.String("oidc-client-secret-file", "", env("oidc-client-secret-file", "`file` holding the client secret at the OpenID Connect provider")),
		oidcRedirect:    fs.String("oidc-redirect-url", "", env("oidc-redirect-url", "this service's /v1/wallet/oidc/callback `URL` as registered at the provider")),
		oidcHolderClaim: fs.String("oidc-holder-claim", issuerapi.DefaultHolderClaim, env("oidc-holder-claim", "ID token `claim` with the holder's citizen ID number or credit code")),
	}
}

// oidc returns the wallet's OpenID Connect configuration, nil without
// --oidc-issuer; it reads the client secret file.
func (f *serviceFlags) oidc() (*issuerapi.OIDCConfig, error) {
	if *f.oidcIssuer == "" {
		if *f.oidcClientID != "" || *f.oidcSecretFile != "" || *f.oidcRedirect != "" {
			return nil, Usagef("--oidc-client-id, --oidc-client-secret-file and --oidc-redirect-url need --oidc-issuer")
		}
		return nil, nil
	}
	if *f.oidcSecretFile == "" {
		return nil, Usagef("--oidc-issuer needs --oidc-client-secret-file")
	}
	b, err := os.ReadFile(*f.oidcSecretFile)
	if err != nil {
		return nil, Usagef("--oidc-client-secret-file: %v", err)
	}
	c := &issuerapi.OIDCConfig{
		IssuerURL: *f.oidcIssuer, ClientID: *f.oidcClientID, ClientSecret: strings.TrimSpace(string(b)),
		RedirectURL: *f.oidcRedirect, HolderClaim: *f.oidcHolderClaim,
	}
	if err := c.Validate(); err != nil {
		return nil, Usagef("%v (set --oidc-client-id, --oidc-client-secret-file and --oidc-redirect-url)", err)
	}
	return c, nil
}

func (f *serviceFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return nil, Usagef("--log-level %q: want debug, info, warn or error", *f.logLevel)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
}

func (f *serviceFlags) check() error {
	if _, err := f.oidc(); err != nil {
		return err
	}
	if *f.statusTTL < time.Second || *f.trustValidity < time.Minute || *f.presentationTTL < time.Second || *f.rateLimit <= 0 ||
		*f.maxStreams <= 0 || *f.streamsPerIP <= 0 {
		return Usagef("--status-ttl, --presentation-ttl (at least 1s), --trust-validity (at least 1m), --rate-limit, --max-streams and --max-streams-per-client must be positive")
	}
	if *f.presentationTTL > format.MaxPresentationLifetime {
		return Usagef("--presentation-ttl %s: at most %s, the longest presentation verifiers accept", *f.presentationTTL, format.MaxPresentationLifetime)
	}
	return nil
}

// runIssuer serves svc's API (with mounts) on the flags' address until ctx
// ends, then shuts down gracefully: event streams end first, so that
// requests in flight can finish. It logs name's stop.
func runIssuer(ctx context.Context, log *slog.Logger, name string, f *serviceFlags, svc *issuer.Service, reg *prometheus.Registry, mounts []issuerapi.Mount, ln net.Listener) error {
	oidc, err := f.oidc()
	if err != nil {
		return err
	}
	h := issuerapi.New(issuerapi.Config{
		Service: svc, Logger: log, Registry: reg, Gatherer: reg, RateLimit: *f.rateLimit,
		RateBurst: int(2 * *f.rateLimit), Mounts: mounts, OIDC: oidc,
		MaxStreams: *f.maxStreams, MaxStreamsPerClient: *f.streamsPerIP,
	})
	stop := context.AfterFunc(ctx, func() { svc.Close() })
	defer stop()
	return serveUntilDone(ctx, log, name, ln, h, api.FastRoute{}, *f.grace)
}

// webMounts mounts the pages of cfg.
func webMounts(cfg web.Config) []issuerapi.Mount {
	h := web.Handler(cfg)
	var ms []issuerapi.Mount
	for _, p := range cfg.Paths() {
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		ms = append(ms, issuerapi.Mount{Pattern: p, Handler: h})
	}
	return ms
}

func issuerServeCommand() Command {
	return Command{
		Name:    "issuer serve",
		Summary: "run the issuer service on PostgreSQL (or an embedded store file); several may share one database",
		Setup: func(fs *flag.FlagSet) RunFunc {
			env := envFlag(issuerEnvPrefix)
			db := fs.String("db", "", env("db", "database: a postgres:// `URL` or an embedded store file"))
			rootKey := fs.String("root-key", "", env("root-key", "encrypted root private key `file`: build and sign the trust list here"))
			rootCert := fs.String("root-cert", "", env("root-cert", "root certificate `file` (default: root.crt beside --root-key)"))
			trustList := fs.String("trust-list", "", env("trust-list", "operator-signed trust list `file` to serve, without the root key"))
			sf := addServiceFlags(fs, env)
			return func(ctx context.Context, e *Env, args []string) error {
				if err := beginServe(fs, issuerEnvPrefix, args); err != nil {
					return err
				}
				if err := sf.check(); err != nil {
					return err
				}
				log, err := sf.logger(e.Stderr)
				if err != nil {
					return err
				}
				switch {
				case *db == "":
					return Usagef("no database: pass --db postgres://… (or --db FILE for an embedded store)")
				case (*rootKey == "") == (*trustList == ""):
					return Usagef("pass one of --root-key FILE (sign the trust list here) and --trust-list FILE (serve an operator-signed one)")
				}
				pass, err := keys.Passphrase(PassphraseEnv)
				if err != nil {
					return err
				}
				cfg := issuer.Config{
					Passphrase: pass, Logger: log, Now: e.Now,
					Publication: issuer.PublicationConfig{StatusTTL: *sf.statusTTL, TrustListValidity: *sf.trustValidity, EventPollOnly: !*sf.eventNotify, EventPollInterval: *sf.eventPoll},
					Wallet:      issuer.WalletConfig{PresentationTTL: *sf.presentationTTL},
				}
				if *rootKey != "" {
					certFile := *rootCert
					if certFile == "" {
						certFile = filepath.Join(filepath.Dir(*rootKey), keys.RootCertFile)
					}
					pair, err := loadRootKeyPair(*rootKey, certFile, pass)
					if err != nil {
						return err
					}
					cfg.Root = &pair
					// The operator's witness key, beside the root key.
					w, created, err := issuer.LoadWitnessKey(filepath.Dir(*rootKey), pass)
					switch {
					case errors.Is(err, issuer.ErrNoWitnessKey):
						// Issuance goes on, logged; no checkpoint is co-signed.
						log.Warn("issuance log: no witness key, checkpoints are not co-signed and the trust list names no log", "err", err)
					case err != nil:
						return err
					case created:
						log.Info("witness key created", "file", filepath.Join(filepath.Dir(*rootKey), issuer.WitnessKeyFile))
					}
					if w != nil {
						cfg.Log.Witness = w
					}
				} else {
					if cfg.Publication.TrustList, err = os.ReadFile(*trustList); err != nil {
						return fmt.Errorf("trust list: %w", err)
					}
					if *rootCert != "" {
						if cfg.Publication.RootCertificate, err = os.ReadFile(*rootCert); err != nil {
							return fmt.Errorf("root certificate: %w", err)
						}
					}
				}
				ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				st, err := storeopen.Open(ctx, *db, log)
				if err != nil {
					return err
				}
				defer st.Close()
				ln, err := listen(*sf.addr)
				if err != nil {
					return err
				}
				cfg.Store = st
				cfg.Publication.PublicURL = *sf.publicURL
				if cfg.Publication.PublicURL == "" {
					cfg.Publication.PublicURL = "http://" + ln.Addr().String()
				}
				reg := newRegistry()
				cfg.Registry = reg
				svc, err := issuer.New(cfg)
				if err != nil {
					return err
				}
				defer svc.Close()
				log.Info("issuer listening", "addr", "http://"+ln.Addr().String(), "public_url", cfg.Publication.PublicURL,
					"postgres", storeopen.IsPostgresURL(*db), "signs_trust_list", cfg.Root != nil)
				return runIssuer(ctx, log, "issuer", sf, svc, reg, webMounts(web.Config{Wallet: true}), ln)
			}
		},
	}
}

// openStoreFlag opens the store named by --db, or the embedded store in
// --data when --db is empty.
func openStoreFlag(ctx context.Context, db, data string) (store.Store, error) {
	if db == "" {
		if data == "" {
			return nil, Usagef("pass --db postgres://… or --data DIR")
		}
		db = filepath.Join(data, storeFile)
		if _, err := os.Stat(db); err != nil {
			return nil, fmt.Errorf("no store in %s (run elicence serve first, or pass --db)", data)
		}
	}
	return storeopen.Open(ctx, db, nil)
}

func auditVerifyCommand() Command {
	return Command{
		Name:    "audit verify",
		Summary: "check the audit log's hash chain and name the first bad entry",
		Setup: func(fs *flag.FlagSet) RunFunc {
			db := fs.String("db", os.Getenv(issuerEnvPrefix+"DB"), "database: a postgres:// `URL` or an embedded store file [$ELICENCE_ISSUER_DB]")
			data := fs.String("data", DefaultDataDir, "data `directory` of elicence serve, used when --db is not given")
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				st, err := openStoreFlag(ctx, *db, *data)
				if err != nil {
					return err
				}
				defer st.Close()
				bad, err := st.VerifyChain(ctx)
				switch {
				case errors.Is(err, store.ErrChainBroken):
					fmt.Fprintf(e.Stdout, "audit chain BROKEN: first bad entry is %d\n", bad)
					return exitStatus(ExitFailed)
				case err != nil:
					return err
				}
				head, err := st.AuditHead(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "audit chain verifies: %d entries\n", head)
				return nil
			}
		},
	}
}

func issuerTokenCommand() Command {
	return Command{
		Name:    "issuer token",
		Args:    "(create | revoke ID)",
		Summary: "create or revoke an API token directly in the issuer's database (an operator action)",
		Setup: func(fs *flag.FlagSet) RunFunc {
			db := fs.String("db", os.Getenv(issuerEnvPrefix+"DB"), "database: a postgres:// `URL` or an embedded store file [$ELICENCE_ISSUER_DB]")
			data := fs.String("data", DefaultDataDir, "data `directory` of elicence serve, used when --db is not given")
			dept := fs.String("dept", "", "department `code` the token acts for (none for an operator token)")
			scopes := fs.String("scopes", "issue,revoke,read", "comma-separated `scopes`: issue, revoke, read; or operator")
			name := fs.String("name", "", "what the token is for, e.g. 窗口系统")
			id := fs.String("id", "", "token `ID` (default random)")
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) == 0 || (args[0] == "create") != (len(args) == 1) || (args[0] == "revoke" && len(args) != 2) || (args[0] != "create" && args[0] != "revoke") {
					return Usagef("want create, or revoke ID")
				}
				st, err := openStoreFlag(ctx, *db, *data)
				if err != nil {
					return err
				}
				defer st.Close()
				// Token administration needs no keys.
				svc, err := issuer.New(issuer.Config{Store: st, Now: e.Now})
				if err != nil {
					return err
				}
				defer svc.Close()
				if args[0] == "revoke" {
					if _, err := svc.Admin.RevokeToken(ctx, issuer.Operator(), args[1]); err != nil {
						return err
					}
					fmt.Fprintf(e.Stdout, "token %s revoked\n", args[1])
					return nil
				}
				var sc []store.Scope
				for _, s := range strings.Split(*scopes, ",") {
					if s = strings.TrimSpace(s); s != "" {
						sc = append(sc, store.Scope(s))
					}
				}
				if *name == "" {
					return Usagef("pass --name, saying what the token is for")
				}
				tok, secret, err := svc.Admin.CreateToken(ctx, issuer.Operator(), issuer.TokenRequest{ID: *id, Department: *dept, Scopes: sc, Name: *name})
				var ve *issuer.ValidationError
				if errors.As(err, &ve) {
					return Usagef("%s", ve.Error())
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stderr, "token %s (%s) created; the secret is shown once:\n", tok.ID, strings.Join(scopeNames(tok.Scopes), ","))
				fmt.Fprintln(e.Stdout, secret)
				return nil
			}
		},
	}
}

func issuerKeyStateCommand() Command {
	return Command{
		Name:    "issuer key-state",
		Summary: "retire a department key or mark it compromised in a running issuer (an operator action)",
		Setup: func(fs *flag.FlagSet) RunFunc {
			cf := addClientFlags(fs)
			fs.Lookup("token").Usage = "operator API `token` (default $ELICENCE_TOKEN, then $ELICENCE_DEMO_TOKEN)"
			dept := fs.String("dept", "", "department `code`")
			keyID := fs.String("key", "", "key `ID` (16 hex digits)")
			state := fs.String("state", "", "new key state: retired or compromised")
			since := fs.String("since", "", "RFC 3339 `time` from which the key is no longer trusted (compromised only; retired is from now)")
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"dept", *dept}, {"key", *keyID}, {"state", *state}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				if _, err := keys.ParseID(*keyID); err != nil {
					return Usagef("--key: %v", err)
				}
				if _, err := parseKeyState(*state); err != nil {
					return err
				}
				switch {
				case *state == "compromised" && *since == "":
					return Usagef("pass --since, the time from which the compromised key is untrusted")
				case *state == "retired" && *since != "":
					return Usagef("--since is for compromised keys; a key is retired from now on")
				}
				if *since != "" {
					if _, err := time.Parse(time.RFC3339, *since); err != nil {
						return Usagef("--since %q: want an RFC 3339 time such as 2026-01-02T15:04:05+08:00", *since)
					}
				}
				req := map[string]string{"state": *state}
				if *since != "" {
					req["since"] = *since
				}
				body, _ := json.Marshal(req)
				path := "/v1/admin/departments/" + url.PathEscape(*dept) + "/keys/" + url.PathEscape(*keyID) + "/state"
				res, err := cf.call(ctx, "POST", path, "application/json", strings.NewReader(string(body)))
				if err != nil {
					return err
				}
				defer res.Body.Close()
				var k struct {
					ID               string     `json:"id"`
					Department       string     `json:"department"`
					State            string     `json:"state"`
					CompromisedSince *time.Time `json:"compromised_since"`
				}
				if err := json.NewDecoder(res.Body).Decode(&k); err != nil {
					return fmt.Errorf("issuer answer: %w", err)
				}
				if k.CompromisedSince != nil {
					fmt.Fprintf(e.Stdout, "key %s/%s is %s since %s\n", k.Department, k.ID, k.State, k.CompromisedSince.UTC().Format(time.RFC3339))
				} else {
					fmt.Fprintf(e.Stdout, "key %s/%s is %s\n", k.Department, k.ID, k.State)
				}
				return nil
			}
		},
	}
}

func issuerReissueCommand() Command {
	return Command{
		Name:    "issuer reissue",
		Summary: "re-issue every still-valid licence a retired or compromised key signed, under the department's current key (an operator action)",
		Setup: func(fs *flag.FlagSet) RunFunc {
			cf := addClientFlags(fs)
			fs.Lookup("token").Usage = "operator API `token` (default $ELICENCE_TOKEN, then $ELICENCE_DEMO_TOKEN)"
			dept := fs.String("dept", "", "department `code`")
			keyID := fs.String("key", "", "`ID` (16 hex digits) of the retired or compromised key")
			batch := fs.Int("batch-size", 0, "licences per all-or-nothing transaction, 1 to 1000 (default 1000)")
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"dept", *dept}, {"key", *keyID}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				if _, err := keys.ParseID(*keyID); err != nil {
					return Usagef("--key: %v", err)
				}
				if *batch < 0 || *batch > 1000 {
					return Usagef("--batch-size %d: want 1 to 1000", *batch)
				}
				var body io.Reader
				if *batch > 0 {
					body = strings.NewReader(fmt.Sprintf(`{"batch_size": %d}`, *batch))
				}
				path := "/v1/admin/departments/" + url.PathEscape(*dept) + "/keys/" + url.PathEscape(*keyID) + "/reissue"
				res, err := cf.call(ctx, "POST", path, "application/json", body)
				var ue *UsageError
				if err != nil && !errors.As(err, &ue) && !strings.HasPrefix(err.Error(), "issuer answered") {
					// The run may have stopped midway: it is resumable.
					return fmt.Errorf("%w; run the command again to continue where it stopped", err)
				}
				if err != nil {
					return err
				}
				defer res.Body.Close()
				var sum issuer.ReissueKeySummary
				if err := json.NewDecoder(res.Body).Decode(&sum); err != nil {
					return fmt.Errorf("issuer answer: %w", err)
				}
				for _, f := range sum.Failures {
					fmt.Fprintf(e.Stderr, "not re-issued: %s: %s\n", f.ID, f.Reason)
				}
				fmt.Fprintf(e.Stdout, "re-issued %d licences of %s signed by key %s (%s) under key %s\n",
					sum.Reissued, sum.Department, sum.Key, sum.KeyState, sum.NewKey)
				fmt.Fprintf(e.Stdout, "scanned %d current licences: %d signed by the key and still valid, %d expired (left as they are), "+
					"%d changed meanwhile, %d of a type no longer authorised, %d invalid\n",
					sum.Scanned, sum.Eligible, sum.Expired, sum.Skipped, sum.NotAuthorised, sum.Invalid)
				rate := 0.0
				if sum.Seconds > 0 {
					rate = float64(sum.Reissued) / sum.Seconds
				}
				fmt.Fprintf(e.Stdout, "%d batches in %.1f s (%.0f licences/s)\n", sum.Batches, sum.Seconds, rate)
				return nil
			}
		},
	}
}

func scopeNames(sc []store.Scope) []string {
	out := make([]string, len(sc))
	for i, s := range sc {
		out[i] = string(s)
	}
	return out
}

// clientFlags are the flags of commands that call a running issuer.
type clientFlags struct {
	server, token *string
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	return &clientFlags{
		server: fs.String("server", "http://127.0.0.1:8080", "issuer base `URL`"),
		token:  fs.String("token", "", "department API `token` (default $ELICENCE_TOKEN, then $ELICENCE_DEMO_TOKEN)"),
	}
}

func (c *clientFlags) bearer() (string, error) {
	for _, t := range []string{*c.token, os.Getenv("ELICENCE_TOKEN"), os.Getenv(issuer.DemoTokenEnv)} {
		if t != "" {
			return t, nil
		}
	}
	return "", Usagef("no token: pass --token, or set ELICENCE_TOKEN")
}

// call sends a request to the issuer and returns the answer, turning a
// problem-details answer into an error.
func (c *clientFlags) call(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	return c.callWith(ctx, method, path, contentType, body, nil)
}

// callWith is call with further request headers.
func (c *clientFlags) callWith(ctx context.Context, method, path, contentType string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	tok, err := c.bearer()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*c.server, "/")+path, body)
	if err != nil {
		return nil, Usagef("--server: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call issuer: %w", err)
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		var p api.Problem
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if json.Unmarshal(b, &p) == nil && p.Title != "" {
			msg := fmt.Sprintf("issuer answered %d %s: %s", p.Status, p.Title, p.Detail)
			for _, f := range p.Errors {
				msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Reason)
			}
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("issuer answered %s", res.Status)
	}
	return res, nil
}

func walletLinkCommand() Command {
	return Command{
		Name:    "wallet-link",
		Summary: "make a one-time wallet login link for a holder (calls a running issuer)",
		Setup: func(fs *flag.FlagSet) RunFunc {
			holder := fs.String("holder", "", "the holder's full citizen ID number or credit `code`")
			cf := addClientFlags(fs)
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				if *holder == "" {
					return Usagef("pass --holder ID")
				}
				body, _ := json.Marshal(map[string]string{"holder_id": *holder})
				res, err := cf.call(ctx, "POST", "/v1/holder-links", "application/json", strings.NewReader(string(body)))
				if err != nil {
					return err
				}
				defer res.Body.Close()
				var link issuer.HolderLink
				if err := json.NewDecoder(res.Body).Decode(&link); err != nil {
					return fmt.Errorf("issuer answer: %w", err)
				}
				fmt.Fprintf(e.Stdout, "%s%s\n", strings.TrimRight(*cf.server, "/"), link.URL)
				fmt.Fprintf(e.Stderr, "valid once, until %s\n", link.ExpiresAt.Local().Format(time.DateTime))
				return nil
			}
		},
	}
}

// loadRootKeyPair reads the encrypted root key and its certificate.
func loadRootKeyPair(keyFile, certFile string, pass []byte) (keys.Pair, error) {
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return keys.Pair{}, fmt.Errorf("root key: %w", err)
	}
	k, err := keys.ParsePrivateKey(keyPEM, pass)
	if err != nil {
		return keys.Pair{}, fmt.Errorf("root key %s: %w", keyFile, err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return keys.Pair{}, fmt.Errorf("root certificate: %w", err)
	}
	cert, err := keys.ParseCertificate(certPEM)
	if err != nil {
		return keys.Pair{}, fmt.Errorf("root certificate %s: %w", certFile, err)
	}
	if !k.PublicKey.Equal(cert.PublicKey) {
		return keys.Pair{}, fmt.Errorf("%s does not certify the key in %s", certFile, keyFile)
	}
	return keys.Pair{Key: k, Cert: cert}, nil
}
