package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/internal/testenv"
)

// EnvBin names the directory of the PostgreSQL server binaries (initdb,
// pg_ctl) for tests that need a cluster of their own; default BinDir.
const EnvBin = "ELICENCE_TEST_PGBIN"

// BinDir is where Debian installs the PostgreSQL 15 server binaries.
const BinDir = "/usr/lib/postgresql/15/bin"

// Cluster is a PostgreSQL cluster of a test's own, in a temporary
// directory, which the test may stop and start as it likes (crash tests
// stop it with pg_ctl stop -m immediate). It listens on 127.0.0.1 at a free
// port and trusts every local connection.
type Cluster struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	as   string // run the binaries as this user (when the test runs as root)
}

// NewCluster initialises and starts a cluster with the given extra
// postgresql.conf settings (e.g. "wal_writer_delay=10s"). It is stopped
// and removed when the test ends. Without the binaries the test is
// skipped, or failed in CI.
func NewCluster(tb testing.TB, settings ...string) *Cluster {
	tb.Helper()
	bin := os.Getenv(EnvBin)
	if bin == "" {
		bin = BinDir
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		testenv.Missing(tb, "PostgreSQL server binaries in "+bin, "apt-get install postgresql-15, or set "+EnvBin)
	}
	c := &Cluster{tb: tb, bin: bin}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		// The server refuses to run as root.
		pg, err := user.Lookup("postgres")
		if err != nil {
			testenv.Missing(tb, "a postgres user to run a private cluster as", "apt-get install postgresql-15")
		}
		c.as = pg.Username
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		dir, err := os.MkdirTemp("", "elicence-pg-")
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.dir = dir
		tb.Cleanup(func() { os.RemoveAll(dir) })
	} else {
		c.dir = tb.TempDir()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	data := c.data()
	c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(c.port),
		"unix_socket_directories = '" + c.dir + "'",
		"fsync = on",
		"max_connections = 100",
		"shared_buffers = 32MB",
		"logging_collector = off",
	}
	conf = append(conf, settings...)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintln(f, strings.Join(conf, "\n"))
	f.Close()
	c.Start()
	tb.Cleanup(func() { c.pgctl("stop", "-m", "immediate") })
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// command returns the server binary name with args, run as the cluster's
// user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.as != "" {
		return exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *Cluster) run(name string, args ...string) {
	c.tb.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", c.data(), "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log")}, args...)
	out, err := c.command("pg_ctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.tb.Helper()
	if err := c.pgctl("start"); err != nil {
		c.tb.Fatalf("%v\nserver log:\n%s", err, c.Log())
	}
}

// Crash stops the server the way a power cut or an OOM kill would leave
// it: pg_ctl stop -m immediate, no checkpoint, unflushed WAL lost.
func (c *Cluster) Crash() {
	c.tb.Helper()
	if err := c.pgctl("stop", "-m", "immediate"); err != nil {
		c.tb.Fatal(err)
	}
}

// Log returns the server log so far.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return string(b)
}

// URL returns the URL of database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// NewDatabase creates database name and returns its URL.
func (c *Cluster) NewDatabase(name string) string {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		c.tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		c.tb.Fatal(err)
	}
	return c.URL(name)
}
