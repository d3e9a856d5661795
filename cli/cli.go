// Package cli implements the elicence command line: a table of subcommands,
// each a [Command] that declares its flags and runs, and [Main], which
// dispatches to them. cmd/elicence only calls Main.
//
// To add a subcommand, write a function returning a [Command] and add it to
// the table in [Commands]. A command reports a usage mistake with
// [Usagef] (exit status 3) and any other failure as a plain error (exit
// status 4); the verify command exits 1 for FAILED and 2 for INDETERMINATE.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Exit statuses of the elicence command.
const (
	ExitOK            = 0 // success; verify: PASSED
	ExitFailed        = 1 // verify: FAILED
	ExitIndeterminate = 2 // verify: INDETERMINATE
	ExitUsage         = 3 // usage error: unknown command, bad flag, missing argument
	ExitError         = 4 // the command could not do its work (I/O, keys, bad input file)
)

// PassphraseEnv is the environment variable holding the passphrase of the
// private keys; PassphraseEnv+"_FILE" may name a file holding it instead.
const PassphraseEnv = "ELICENCE_PASSPHRASE"

// Env is what a command may use of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock.
	Now func() time.Time
}

// RunFunc runs a command with the positional arguments left after its flags.
type RunFunc func(ctx context.Context, env *Env, args []string) error

// Command is one subcommand.
type Command struct {
	// Name is the command as typed, e.g. "trust build".
	Name string
	// Args is the synopsis after the flags, e.g. "(QRTEXT | --in FILE)".
	Args string
	// Summary is one line for the command list.
	Summary string
	// Setup declares the command's flags on fs and returns the function
	// that runs it once the flags are parsed.
	Setup func(fs *flag.FlagSet) RunFunc
}

// Commands returns the command table, in the order the usage text lists it.
func Commands() []Command {
	return []Command{
		keysInitCommand(),
		keysAddDeptCommand(),
		trustBuildCommand(),
		trustKeyStateCommand(),
		statusBuildCommand(),
		statusSetCommand(),
		issueCommand(),
		verifyCommand(),
		verifierServeCommand(),
		serveCommand(),
		issuerInitCommand(),
		issuerServeCommand(),
		issuerTokenCommand(),
		issuerKeyStateCommand(),
		issuerReissueCommand(),
		bulkIssueCommand(),
		walletLinkCommand(),
		signCommand(),
		documentRescindCommand(),
		auditVerifyCommand(),
		logProofsCommand(),
		logVerifyCommand(),
		versionCommand(),
		// A new command is one more entry here, and a line in cmd/elicence/testdata/script/help.txtar.
	}
}

// UsageError is a mistake in how the command was called.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a *UsageError; Main exits 3 for it.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// exitStatus is returned by a command that has already said everything and
// only needs a particular exit status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Main runs the elicence command line with args (without the program
// name) and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Now: time.Now}
	return Run(context.Background(), env, args)
}

// Run is Main with an explicit environment.
func Run(ctx context.Context, env *Env, args []string) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	table := Commands()
	if len(args) == 0 {
		writeUsage(env.Stderr, table)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if cmd, _ := lookup(table, args[1:]); cmd != nil {
				writeCommandHelp(env.Stdout, cmd)
				return ExitOK
			}
			if len(args) == 2 && len(subcommands(table, args[1])) > 0 {
				writeGroupHelp(env.Stdout, table, args[1])
				return ExitOK
			}
			fmt.Fprintf(env.Stderr, "elicence help: unknown command %q\n", strings.Join(args[1:], " "))
			return ExitUsage
		}
		writeUsage(env.Stdout, table)
		return ExitOK
	}
	cmd, rest := lookup(table, args)
	if cmd == nil {
		group := subcommands(table, args[0])
		if len(group) == 0 {
			fmt.Fprintf(env.Stderr, "elicence: unknown command %q\n", args[0])
			fmt.Fprintln(env.Stderr, `Run "elicence help" for usage.`)
			return ExitUsage
		}
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			fmt.Fprintf(env.Stderr, "elicence %s: unknown subcommand %q: want %s\n", args[0], args[1], strings.Join(group, ", "))
		} else {
			fmt.Fprintf(env.Stderr, "elicence %s: want a subcommand: %s\n", args[0], strings.Join(group, ", "))
		}
		fmt.Fprintf(env.Stderr, "Run \"elicence help %s\" for what each does.\n", args[0])
		return ExitUsage
	}
	fs := newFlagSet()
	run := cmd.Setup(fs)
	pos, err := parseFlags(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		writeCommandHelp(env.Stdout, cmd)
		return ExitOK
	}
	if err == nil {
		err = run(ctx, env, pos)
	}
	return report(env, cmd, err)
}

func report(env *Env, cmd *Command, err error) int {
	var (
		usage *UsageError
		code  exitStatus
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage):
		fmt.Fprintf(env.Stderr, "elicence %s: %v\n", cmd.Name, err)
		fmt.Fprintf(env.Stderr, "Run \"elicence help %s\" for usage.\n", cmd.Name)
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "elicence %s: %v\n", cmd.Name, err)
	return ExitError
}

// lookup finds the command named by the first one or two words of args.
func lookup(table []Command, args []string) (*Command, []string) {
	if len(args) >= 2 {
		for i := range table {
			if table[i].Name == args[0]+" "+args[1] {
				return &table[i], args[2:]
			}
		}
	}
	for i := range table {
		if table[i].Name == args[0] {
			return &table[i], args[1:]
		}
	}
	return nil, nil
}

// subcommands lists the second words of the commands in group.
func subcommands(table []Command, group string) []string {
	var out []string
	for _, c := range table {
		if g, sub, ok := strings.Cut(c.Name, " "); ok && g == group {
			out = append(out, sub)
		}
	}
	return out
}

// newFlagSet returns a flag set that reports errors to its caller only.
func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("elicence", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses flags anywhere among the arguments (the standard flag
// package stops at the first positional argument), until a "--".
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, Usagef("%v", err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func writeUsage(w io.Writer, table []Command) {
	fmt.Fprint(w, `elicence issues and verifies electronic licences (电子证照) signed with SM2.

usage: elicence <command> [flags]

commands:
`)
	width := 0
	for _, c := range table {
		width = max(width, len(c.Name))
	}
	for _, c := range table {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprint(w, `
Run "elicence help <command>" for a command's flags.
Exit status: 0 success or PASSED, 1 FAILED, 2 INDETERMINATE, 3 usage error, 4 other error.
`)
}

// writeGroupHelp lists the subcommands of a group such as "issuer".
func writeGroupHelp(w io.Writer, table []Command, group string) {
	fmt.Fprintf(w, "usage: elicence %s <subcommand> [flags]\n\nsubcommands:\n", group)
	var cmds []Command
	width := 0
	for _, c := range table {
		if g, sub, ok := strings.Cut(c.Name, " "); ok && g == group {
			cmds = append(cmds, c)
			width = max(width, len(sub))
		}
	}
	for _, c := range cmds {
		_, sub, _ := strings.Cut(c.Name, " ")
		fmt.Fprintf(w, "  %-*s  %s\n", width, sub, c.Summary)
	}
	fmt.Fprintf(w, "\nRun \"elicence help %s <subcommand>\" for a subcommand's flags.\n", group)
}

func writeCommandHelp(w io.Writer, cmd *Command) {
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	cmd.Setup(fs)
	fmt.Fprintf(w, "usage: elicence %s [flags]", cmd.Name)
	if cmd.Args != "" {
		fmt.Fprintf(w, " %s", cmd.Args)
	}
	fmt.Fprintf(w, "\n\n%s.\n", upperFirst(cmd.Summary))
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintln(w, "\nflags:")
	for _, f := range flags {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(usage, "(default") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
