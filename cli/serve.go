package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"elicence/api/issuerapi"
	"elicence/api/verifierapi"
	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/store/storeopen"
	"elicence/keys"
	"elicence/verifier"
	"elicence/web"
)

// serveEnvPrefix prefixes the environment variables that set the flags of
// "serve": --addr is ELICENCE_SERVE_ADDR.
const serveEnvPrefix = "ELICENCE_SERVE_"

func serveCommand() Command {
	return Command{
		Name:    "serve",
		Summary: "run everything in one process on the embedded store: issuer, verifier and web pages (the demo)",
		Setup: func(fs *flag.FlagSet) RunFunc {
			env := envFlag(serveEnvPrefix)
			data := fs.String("data", DefaultDataDir, env("data", "data `directory`: embedded store, keys, root certificate"))
			skew := fs.Duration("skew", verifier.DefaultSkew, env("skew", "clock-skew tolerance of the built-in verifier for dynamic QR codes and annotated copies"))
			sf := addServiceFlags(fs, env)
			return func(ctx context.Context, e *Env, args []string) error {
				if err := beginServe(fs, serveEnvPrefix, args); err != nil {
					return err
				}
				if err := sf.check(); err != nil {
					return err
				}
				if *skew < 0 {
					return Usagef("--skew must not be negative")
				}
				log, err := sf.logger(e.Stderr)
				if err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()

				// The port first: a busy one must fail the run before it
				// creates a data directory, keys or a token it cannot show.
				ln, err := listen(*sf.addr)
				if err != nil {
					return err
				}
				defer ln.Close()

				// The passphrase: from the environment, or for the demo
				// a generated one kept in the data directory.
				pass, err := keys.Passphrase(PassphraseEnv)
				passNote := "from " + PassphraseEnv
				if err != nil {
					var path string
					var created bool
					if pass, path, created, err = issuer.DemoPassphrase(*data); err != nil {
						return err
					}
					passNote = path + " (demo only; set " + PassphraseEnv + " in production)"
					if created {
						passNote = "generated into " + path + " (mode 0600; demo only)"
					}
				}
				st, err := storeopen.Open(ctx, filepath.Join(*data, storeFile), log)
				if err != nil {
					return err
				}
				defer st.Close()
				boot, err := issuer.Bootstrap(ctx, issuer.BootstrapConfig{
					Store: st, DataDir: *data, Passphrase: pass, DemoToken: os.Getenv(issuer.DemoTokenEnv), Now: e.Now,
				})
				if err != nil {
					return err
				}
				base := "http://" + reachableAddr(ln.Addr())
				publicURL := *sf.publicURL
				if publicURL == "" {
					publicURL = base
				}
				reg := newRegistry()
				svc, err := issuer.New(issuer.Config{
					Store: st, Passphrase: pass, Root: &boot.Root, Logger: log, Registry: reg, Now: e.Now,
					Publication: issuer.PublicationConfig{PublicURL: publicURL, StatusTTL: *sf.statusTTL, TrustListValidity: *sf.trustValidity, EventPollOnly: !*sf.eventNotify, EventPollInterval: *sf.eventPoll},
					Wallet:      issuer.WalletConfig{PresentationTTL: *sf.presentationTTL},
					Log:         issuer.LogConfig{Witness: boot.Witness},
				})
				if err != nil {
					return err
				}
				defer svc.Close()

				// ---- Other services mounted in the same process. ----
				// The verifier reads trust and status straight from the
				// issuer service, not over HTTP. It is public: it acts
				// for no relying department, so it accepts no annotated
				// copy on anyone's behalf (a department runs its own
				// "elicence verifier serve --dept").
				local := &localVerifierSource{svc: svc, root: &boot.Root.Key.PublicKey, now: e.Now}
				vh := verifierapi.NewHandler(verifierapi.Config{
					Verify: verifier.Config{Trust: local.Trust, Status: local.Status, Now: e.Now, Skew: *skew,
						Memo:     verifier.NewSignatureMemo(verifier.DefaultMemoEntries),
						Evidence: verifier.NewLogEvidence(verifier.LogConfig{Logger: log})},
					Logger:   log,
					Registry: reg,
				})
				mounts := []issuerapi.Mount{{Pattern: "/v1/verify", Handler: vh}, {Pattern: "/v1/verify/batch", Handler: vh.Batch()},
					{Pattern: "/v1/verify/document", Handler: vh.Document()}}
				mounts = append(mounts, webMounts(web.AllPages())...)
				mounts = append(mounts, issuerapi.Mount{Pattern: "/", Handler: http.RedirectHandler("/counter", http.StatusFound)})
				// ---- End of mounted services. ----

				printServeInfo(e, *data, passNote, boot, base)
				log.Info("elicence serve listening", "addr", base, "data", *data, "public_url", publicURL)
				return runIssuer(ctx, log, "elicence serve", sf, svc, reg, mounts, ln)
			}
		},
	}
}

func printServeInfo(e *Env, data, passNote string, boot *issuer.BootstrapResult, base string) {
	w := e.Stdout
	fmt.Fprintf(w, "elicence serve: issuer, verifier and web pages in one process\n")
	fmt.Fprintf(w, "  data        %s (embedded store %s)\n", data, filepath.Join(data, storeFile))
	fmt.Fprintf(w, "  passphrase  %s\n", passNote)
	if boot.CreatedKeys {
		fmt.Fprintf(w, "  keys        created: root and demo department keys in %s (encrypted)\n", filepath.Join(data, issuer.KeysDir))
	}
	fmt.Fprintf(w, "  root        %s (pin this in verifiers), %s\n", boot.RootCertFile, boot.RootPubFile)
	fmt.Fprintf(w, "  department  %s %s (demo, may issue every demo type)\n", issuer.DemoDepartmentCode, issuer.DemoDepartmentName)
	switch src := boot.DemoTokenSource; {
	case src == issuer.DemoTokenGenerated:
		fmt.Fprintf(w, "  demo token  %s\n", boot.DemoToken)
		fmt.Fprintf(w, "              (made at random and shown once; to choose your own on any run: %s=your-token make run)\n", issuer.DemoTokenEnv)
	case src == issuer.DemoTokenChosen && boot.DemoTokenID == issuer.DemoTokenID:
		fmt.Fprintf(w, "  demo token  from %s, stored on this run as token %s\n", issuer.DemoTokenEnv, boot.DemoTokenID)
	case src == issuer.DemoTokenChosen:
		fmt.Fprintf(w, "  demo token  from %s, stored on this run as token %s (demo tokens of earlier runs still work)\n", issuer.DemoTokenEnv, boot.DemoTokenID)
	case src == issuer.DemoTokenKept:
		fmt.Fprintf(w, "  demo token  from %s (token %s, stored on an earlier run)\n", issuer.DemoTokenEnv, boot.DemoTokenID)
	default:
		fmt.Fprintf(w, "  demo token  token %s, made on an earlier run (its secret is kept only hashed); to choose one now: %s=your-token make run\n", boot.DemoTokenID, issuer.DemoTokenEnv)
	}
	fmt.Fprintf(w, "  API         %s/v1/ (OpenAPI at %s/v1/openapi.yaml)\n", base, base)
	fmt.Fprintf(w, "  trust list  %s/v1/trust-list, events %s/v1/events\n", base, base)
	fmt.Fprintf(w, "  verify      POST %s/v1/verify (public: annotated copies are valid for no department here)\n", base)
	fmt.Fprintf(w, "  pages       %s/counter  %s/wallet  %s/verify\n", base, base, base)
	fmt.Fprintf(w, "  operations  %s/metrics  %s/healthz  %s/readyz\n", base, base, base)
}

// listen opens the listening socket of a service, naming the fix when the
// address is in use.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the address is in use (by another elicence serve?): stop that program, or choose another address with --addr (make run ADDR=127.0.0.1:9090)", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (choose another address with --addr)", addr, err)
	}
	return ln, nil
}

// reachableAddr is ln's address as a client on this machine reaches it:
// a wildcard host (":9090", "0.0.0.0:9090") becomes 127.0.0.1.
func reachableAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// localVerifierSource gives the in-process verifier the issuer's trust and
// status lists, verified as any verifier would (root signature, department
// key), re-parsed only when their ETag changes.
type localVerifierSource struct {
	svc  *issuer.Service
	root *ecdsa.PublicKey
	now  func() time.Time

	mu        sync.Mutex
	trust     *verifier.Trust
	trustETag string
	lists     map[string]localList
}

type localList struct {
	etag  string
	trust *verifier.Trust
	st    *verifier.Status
}

// Trust implements verifier.TrustFunc.
func (l *localVerifierSource) Trust(ctx context.Context) (*verifier.Trust, error) {
	p, err := l.svc.Publication.TrustList(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.trust != nil && l.trustETag == p.ETag {
		return l.trust, nil
	}
	t, err := verifier.NewTrust(l.root, p.Body, l.now())
	if err != nil {
		return nil, err
	}
	l.trust, l.trustETag = t, p.ETag
	return t, nil
}

// Status implements verifier.StatusFunc.
func (l *localVerifierSource) Status(ctx context.Context, trust *verifier.Trust, dept *format.Department, list string) (*verifier.Status, error) {
	p, err := l.svc.Publication.StatusList(ctx, list)
	if err != nil {
		var pb *issuer.Problem
		if errors.As(err, &pb) {
			return nil, errors.New(pb.Detail)
		}
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.lists[list]; ok && c.etag == p.ETag && c.trust == trust {
		return c.st, nil
	}
	st, err := verifier.NewStatus(trust, p.Body, l.now(), "local")
	if err != nil {
		return nil, err
	}
	if l.lists == nil {
		l.lists = map[string]localList{}
	}
	l.lists[list] = localList{etag: p.ETag, trust: trust, st: st}
	return st, nil
}
