package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version returns the module version and, when the binary was built from a
// version-control checkout, the revision it was built from.
func Version() string {
	v := "(devel)"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v = bi.Main.Version
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v
}

func versionCommand() Command {
	return Command{
		Name:    "version",
		Summary: "print the version",
		Setup: func(fs *flag.FlagSet) RunFunc {
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				fmt.Fprintf(env.Stdout, "elicence %s %s\n", Version(), runtime.Version())
				return nil
			}
		},
	}
}
