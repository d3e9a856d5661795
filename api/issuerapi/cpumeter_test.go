package issuerapi

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter measures the CPU time of this process and of the PostgreSQL
// backends serving one database (by /proc, where the server runs on this
// machine), so that a benchmark can report CPU per operation, which other
// load on a shared machine skews far less than wall-clock rates. The
// server's shared processes (WAL writer, checkpointer) are not counted.
type cpuMeter struct {
	conn  *pgx.Conn
	self  time.Duration
	pg    map[int]time.Duration
	ok    bool
	selfD time.Duration
	pgD   time.Duration
}

func newCPUMeter(tb testing.TB, url string) *cpuMeter {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return &cpuMeter{conn: conn}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's user and system time from /proc (clock ticks
// of 10 ms, the Linux default USER_HZ).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond, true
}

func (m *cpuMeter) backends() map[int]time.Duration {
	rows, err := m.conn.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, p := range pids {
		if c, ok := procCPU(int(p)); ok {
			out[int(p)] = c
		}
	}
	return out
}

func (m *cpuMeter) start() {
	m.pg = m.backends()
	m.self = selfCPU()
}

// stop adds the CPU time since start to the totals.
func (m *cpuMeter) stop() {
	m.selfD += selfCPU() - m.self
	after := m.backends()
	if len(after) == 0 {
		return
	}
	m.ok = true
	for pid, c := range after {
		m.pgD += c - m.pg[pid]
	}
}

// report reports CPU µs per unit, n units in all.
func (m *cpuMeter) report(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(m.selfD.Microseconds())/float64(n), "go-cpu-µs/"+unit)
	if m.ok {
		b.ReportMetric(float64(m.pgD.Microseconds())/float64(n), "pg-cpu-µs/"+unit)
	}
}
