package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"elicence/api"
)

// What the three serve commands (serve, issuer serve, verifier serve)
// share: flags settable from the environment, the start of a run, the
// metrics registry, and serving until the context ends.

// envFlag returns the usage-text helper of a serve command's flags: it
// names the environment variable prefix+NAME that sets the flag.
func envFlag(prefix string) func(name, usage string) string {
	return func(name, usage string) string {
		return usage + " [$" + envName(prefix, name) + "]"
	}
}

// envName is the environment variable that sets flag name: prefix+NAME,
// upper case, '-' as '_'.
func envName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// beginServe begins every serve command's run: it takes no arguments,
// and sets each flag not given on the command line from the environment.
func beginServe(fs *flag.FlagSet, prefix string, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	return flagsFromEnv(fs, prefix)
}

// newRegistry returns a metrics registry with the Go and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveUntilDone serves h on ln until ctx ends, gives requests in flight
// grace to finish, and logs name's stop. With a fast route (its Serve set)
// the server is api.ServeFast's, which answers that route natively;
// otherwise it is net/http's (api.Serve).
func serveUntilDone(ctx context.Context, log *slog.Logger, name string, ln net.Listener, h http.Handler, fast api.FastRoute, grace time.Duration) error {
	var err error
	if fast.Serve != nil {
		err = api.ServeFast(ctx, ln, h, fast, grace)
	} else {
		err = api.Serve(ctx, ln, h, grace)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info(name + " stopped")
	return nil
}
