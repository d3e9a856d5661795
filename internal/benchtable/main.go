// Command benchtable runs the project's benchmarks in one go and prints
// every performance figure beside the limit it is held against, as one
// Markdown table, which it also writes to a file (make bench, make
// bench-quick). It runs "go test -bench" on each package in turn, parses the
// standard benchmark output, and runs "openssl speed sm2" where OpenSSL is
// installed. It reports; it does not assert timings: a figure that misses
// its target is marked so, with the reason, and the command still succeeds.
//
//	go run ./internal/benchtable [-quick] [-out docs/performance-latest.md]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// job is one "go test" run.
type job struct {
	pkg, bench, run string
	benchtime       string // full run
	quick           string // -quick run
	cpu             string
}

// results holds benchmark metrics by benchmark name (as printed, with its
// -N suffix) and unit, and why a job's benchmarks are missing.
type results struct {
	m      map[string]map[string]float64
	failed map[string]string // bench pattern → first error line
	logs   map[string]string // bench pattern → output, for log lines
	ncpu   int               // GOMAXPROCS of the runs without -cpu
}

func main() {
	quick := flag.Bool("quick", false, "short runs (under two minutes) for development")
	out := flag.String("out", "", "also write the table to this file")
	goCmd := flag.String("go", "go", "the go command")
	flag.Parse()

	n := runtime.NumCPU()
	all := strconv.Itoa(n)
	jobs := []job{
		{pkg: "./internal/benchtable", bench: "^Benchmark(SM2SignRaw|SM2VerifyRaw)$", benchtime: "3s", quick: "500ms", cpu: "1," + all},
		{pkg: "./internal/benchtable", bench: "^BenchmarkSM3$", benchtime: "2s", quick: "300ms", cpu: "1"},
		{pkg: "./verifier", bench: "^BenchmarkVerifyOverhead$", benchtime: "20000x", quick: "3000x"},
		{pkg: "./api/verifierapi", bench: "^BenchmarkVerifyHTTP$/^(lean-client|memo-repeat|memo-distinct|memo-batch)$", benchtime: "20000x", quick: "2000x"},
		{pkg: "./issuer", bench: "^BenchmarkIssue$", benchtime: "2s", quick: "300ms"},
		{pkg: "./api/issuerapi", bench: "^BenchmarkIssueHTTP$", benchtime: "20000x", quick: "1000x"},
		{pkg: "./api/issuerapi", bench: "^BenchmarkBulkIssue$", benchtime: "3x", quick: "1x"},
		{pkg: "./api/issuerapi", bench: "^BenchmarkBulkIssueLog$", benchtime: "10x", quick: "1x"},
		{pkg: "./api/issuerapi", bench: "^BenchmarkReissueKey$", benchtime: "3x", quick: "1x"},
		{pkg: "./issuer/store/postgres", bench: "^BenchmarkIssueBatch$", benchtime: "10x", quick: "1x"},
		{pkg: "./e2e", bench: "^BenchmarkRevocationAcrossProcesses$", benchtime: "1x", quick: "1x"},
		{pkg: "./qr", bench: "^Benchmark(PNG|PNGRender|Encode)$", benchtime: "200x", quick: "30x"},
		{pkg: "./cli", run: "^TestReferenceLicencesQRBudget$"},
	}
	load0 := loadAvg()
	start := time.Now()
	res := &results{m: map[string]map[string]float64{}, failed: map[string]string{}, logs: map[string]string{}, ncpu: n}
	for _, j := range jobs {
		res.runGo(*goCmd, j, *quick)
	}
	ossl := opensslSpeed(*quick)
	elapsed := time.Since(start)

	var b bytes.Buffer
	mode := "make bench"
	if *quick {
		mode = "make bench-quick (short runs: figures are rough)"
	}
	fmt.Fprintf(&b, "Measured %s by %s in %s on %s; %d CPUs, %s; load average %s before, %s after.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), mode, elapsed.Round(time.Second), cpuModel(), n, runtime.Version(), load0, loadAvg())
	writeTable(&b, rows(res, ossl, n))
	os.Stdout.Write(b.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "benchtable: wrote", *out)
	}
}

// runGo runs one job and records its benchmark lines.
func (r *results) runGo(goCmd string, j job, quick bool) {
	key := j.bench + j.run
	args := []string{"test", "-count=1"}
	if j.run != "" {
		args = append(args, "-run", j.run, "-v")
	} else {
		bt := j.benchtime
		if quick {
			bt = j.quick
		}
		args = append(args, "-run", "^$", "-bench", j.bench, "-benchtime", bt, "-benchmem")
		if j.cpu != "" {
			args = append(args, "-cpu", j.cpu)
		}
	}
	args = append(args, "-timeout", "20m", j.pkg)
	fmt.Fprintf(os.Stderr, "benchtable: %s %s\n", goCmd, strings.Join(args, " "))
	cmd := exec.Command(goCmd, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r.logs[key] = out.String()
	found := r.parse(out.String())
	switch {
	case err != nil:
		r.failed[key] = firstProblem(out.String(), err)
	case j.run == "" && !found:
		r.failed[key] = "no benchmark ran (skipped: " + firstProblem(out.String(), nil) + ")"
	}
}

// parse records the benchmark lines of out and reports whether there were
// any.
func (r *results) parse(out string) bool {
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		found = true
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		r.m[f[0]] = m
	}
	return found
}

// firstProblem returns the first line of out that says what went wrong.
func firstProblem(out string, err error) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.Contains(l, "SKIP") || strings.Contains(l, "skip") || strings.Contains(l, "FAIL:") || strings.Contains(l, "_test.go:") || strings.HasPrefix(l, "panic:") {
			return l
		}
	}
	if err != nil {
		return err.Error()
	}
	return "no output"
}

// get returns a metric of a benchmark, named without its -N suffix (cpu
// 0: r.ncpu, the default GOMAXPROCS), and whether it was
// measured.
func (r *results) get(name string, cpu int, unit string) (float64, bool) {
	if cpu == 0 {
		cpu = r.ncpu
	}
	if cpu > 1 {
		name += "-" + strconv.Itoa(cpu)
	}
	v, ok := r.m[name][unit]
	return v, ok
}

// why says why a job's figures are missing.
func (r *results) why(pattern string) string {
	if s := r.failed[pattern]; s != "" {
		return "not measured: " + s
	}
	return "not measured"
}

type osslResult struct {
	sign, verify       float64
	signAll, verifyAll float64
	missing            string
}

var osslLine = regexp.MustCompile(`SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([0-9.]+)\s+([0-9.]+)`)

// opensslSpeed runs "openssl speed sm2" on one core and, with -multi, on
// all of them.
func opensslSpeed(quick bool) osslResult {
	path, err := exec.LookPath("openssl")
	if err != nil {
		return osslResult{missing: "openssl not installed"}
	}
	secs := "3"
	if quick {
		secs = "1"
	}
	parse := func(args ...string) (float64, float64, error) {
		fmt.Fprintf(os.Stderr, "benchtable: openssl %s\n", strings.Join(args, " "))
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("openssl speed: %w", err)
		}
		m := osslLine.FindSubmatch(out)
		if m == nil {
			return 0, 0, fmt.Errorf("openssl speed: no SM2 line in its output")
		}
		s, _ := strconv.ParseFloat(string(m[1]), 64)
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		return s, v, nil
	}
	var o osslResult
	if o.sign, o.verify, err = parse("speed", "-seconds", secs, "sm2"); err != nil {
		return osslResult{missing: err.Error()}
	}
	if n := runtime.NumCPU(); n > 1 {
		o.signAll, o.verifyAll, _ = parse("speed", "-multi", strconv.Itoa(n), "-seconds", secs, "sm2")
	}
	return o
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
