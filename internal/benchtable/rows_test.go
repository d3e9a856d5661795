package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRows: figures are computed from the parsed metrics and held against
// their targets; a benchmark that did not run is "not measured" with the
// reason, never a number.
func TestRows(t *testing.T) {
	r := &results{m: map[string]map[string]float64{}, failed: map[string]string{}, logs: map[string]string{}, ncpu: 2}
	sc := "BenchmarkSM2VerifyRaw   \t  100\t  50000 ns/op\n" +
		"BenchmarkSM2VerifyRaw-2 \t  100\t  25000 ns/op\n" +
		"BenchmarkVerifyHTTP/memo-repeat-2 \t 100\t 100000 req/s\t 40000 raw_verify/s\n" +
		"BenchmarkVerifyHTTP/memo-batch-2 \t 100\t 200000 req/s\t 40000 raw_verify/s\t 12.5 p99_ms\n" +
		"BenchmarkPNGRender-2 \t 100\t 2500000 ns/op\t 0.40 cpu-ms/op\t 20480 B/op\t 11 allocs/op\n" +
		"BenchmarkRevocationAcrossProcesses/notify-2 \t 1\t 980000000 ns/op\t 19.0 max-ms\t 6.5 p50-ms\t 15.0 p99-ms\t 100 revocations\n" +
		"BenchmarkRevocationAcrossProcesses/polling-2 \t 1\t 20000000000 ns/op\t 205.0 max-ms\t 195.7 p50-ms\t 203.9 p99-ms\t 100 revocations\n" +
		"BenchmarkReissueKey-2 \t 3\t 4000000000 ns/op\t 20000 bulk-licences/s\t 48.0 bulk-store-µs/licence\t 11000 reissue-licences/s\t 120.0 reissue-store-µs/licence\t 0.55 reissue/bulk\n"
	r.parse(sc)
	r.failed["^BenchmarkBulkIssue$"] = "pgtest: PostgreSQL not reachable"
	var b bytes.Buffer
	writeTable(&b, rows(r, osslResult{missing: "openssl not installed"}, 2))
	table := b.String()
	for _, want := range []string{
		"| raw gmsm SM2 verify, 1 core | 20,000 /s |",
		"| raw gmsm SM2 verify, all 2 cores | 40,000 /s | 1 core × 2 | 1.00× |",
		"| HTTP verify, repeat credentials, memo | 100,000 /s | raw all-core verify in the same rounds 40,000 /s | 2.50× | ≥ 3× | **no** |",
		"| HTTP verify, repeat credentials in batches of 100, memo (verifications/s) | 200,000 /s | raw all-core verify in the same rounds 40,000 /s | 5.00× | ≥ 3× | yes |",
		"not measured: pgtest: PostgreSQL not reachable",
		"| revocation across processes, p99 over 100 revocations | 15.0 ms | 100 ms | 0.15× | ≤ 100 ms | yes |",
		"openssl not installed",
		"| QR PNG drawn from an encoded code | 0.400 ms CPU | 1 ms | 0.40× | ≤ 1 ms | yes |",
		"| key re-issue (remedy), PostgreSQL, 20,000 per run | 11,000 /s | bulk issuance in the same run 20,000 /s | 0.55× | bulk speed per write (≥ 0.5×) | yes |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	r.parse("BenchmarkVerifyHTTP/memo-repeat-2 \t 100\t 130000 req/s\t 40000 raw_verify/s\n")
	b.Reset()
	writeTable(&b, rows(r, osslResult{}, 2))
	if !strings.Contains(b.String(), "| 3.25× | ≥ 3× | yes |") {
		t.Errorf("3.25× not met:\n%s", b.String())
	}
}

// TestBulkRow: the bulk row reports the CPU a licence costs and the rate
// it allows on the machine's cores, and a rate between floor and target
// is "floor only" with its reason.
func TestBulkRow(t *testing.T) {
	table := tableOf("BenchmarkSM2SignRaw   \t  100\t  25000 ns/op\n" +
		"BenchmarkSM2SignRaw-2 \t  100\t  12500 ns/op\n" +
		"BenchmarkBulkIssue-2 \t 3\t 4800000000 ns/op\t 52.0 %sign\t 48.0 %store\t 60.0 go-cpu-µs/licence\t 21000 licences/s\t 20.0 pg-cpu-µs/licence\n")
	for _, want := range []string{
		"| bulk issuance, PostgreSQL, 100,000 per run | 21,000 /s | raw all-core sign 80,000 /s | 0.26× | ≥ 25,000 /s (floor 20,000) | floor only |",
		"CPU a licence: Go 60 µs (SM2 signing about half), PostgreSQL backends 20 µs, so 2 idle cores would issue at most 25,000 /s",
		"at 25,000 /s the 2 cores allow 80 µs of CPU a licence, and gmsm's raw signature alone takes 25 µs of it in this run (raw all-core sign), leaving 55 µs for what a licence costs besides, which is 55 µs now",
		"would close it: the rest (hedged nonce, building and encoding, pgx's COPY, PostgreSQL's COPY into the indexes) cut to that",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestBulkLogRow: the issuance log's row is its cost above bulk issuance
// without it, met at 10 % or less and otherwise marked no with its reason.
func TestBulkLogRow(t *testing.T) {
	for _, c := range []struct {
		cost, met string
		reason    bool
	}{{"7.5", "yes", false}, {"12.0", "**no**", true}} {
		table := tableOf("BenchmarkBulkIssueLog-2 \t 4\t 1400000000 ns/op\t 38.0 go-cpu-µs/licence-off\t 18.0 pg-cpu-µs/licence-off\t 39.0 go-cpu-µs/licence-on\t 21.0 pg-cpu-µs/licence-on\t 30000 off-licences/s\t 27000 on-licences/s\t " + c.cost + " log-cost-%\n")
		want := "| bulk issuance with the issuance log, PostgreSQL, cost above without | " + c.cost + " % | 10 % |"
		if !strings.Contains(table, want) || !strings.Contains(table, "≤ 10 % | "+c.met+" |") {
			t.Errorf("cost %s: table lacks %q met %s:\n%s", c.cost, want, c.met, table)
		}
		if got := strings.Contains(table, "not met in this run: the log's per-licence work"); got != c.reason {
			t.Errorf("cost %s: reason given %v, want %v", c.cost, got, c.reason)
		}
		if !strings.Contains(table, "30,000 /s without the log, 27,000 /s with it; CPU a licence: Go 38.0 → 39.0 µs, PostgreSQL 18.0 → 21.0 µs (+7.1 %)") {
			t.Errorf("cost %s: note lacks the rates and CPU:\n%s", c.cost, table)
		}
	}
}

// TestRepeatFloorNote: a missed repeat-verification row says why from the
// HTTP floor measured in the same rounds: below 3× even with no
// verification, or the CPU a request the verify route would have to get
// under; without the floor's metrics it says they are missing.
func TestRepeatFloorNote(t *testing.T) {
	for _, c := range []struct{ metrics, want string }{
		{"\t 26000 floor_req/s\t 2.60 floor_ratio_to_raw\t 25.0 floor_cpu_us/req",
			"reaches 26,000 /s, 2.60× raw, at 25 µs CPU a request; the verify route adds 27 µs (checks with the memo, the report's JSON, metrics, logging); since even the floor is under 3× here, no verifier could meet it"},
		{"\t 60000 floor_req/s\t 6.00 floor_ratio_to_raw\t 20.0 floor_cpu_us/req",
			"the verify route adds 32 µs (checks with the memo, the report's JSON, metrics, logging); would close it: the verify route under 13 µs a request (a third of a raw verification's 100 µs less the floor)"},
		{"\t 32000 floor_req/s\t 3.20 floor_ratio_to_raw\t 40.0 floor_cpu_us/req",
			"the verify route adds 12 µs (checks with the memo, the report's JSON, metrics, logging); at 3× a request may cost 33 µs of CPU in all, no more than the floor alone"},
		{"", "the HTTP floor was not measured in this run"},
	} {
		table := tableOf("BenchmarkSM2VerifyRaw-2 \t  100\t  100000 ns/op\n" +
			"BenchmarkVerifyHTTP/memo-repeat-2 \t 100\t 20000 req/s\t 10000 raw_verify/s\t 52.0 cpu_us/req\t 100.0 raw_cpu_us/verify\t 1.92 cpu_ratio_to_raw" + c.metrics + "\n")
		if !strings.Contains(table, "| 2.00× | ≥ 3× | **no** |") || !strings.Contains(table, c.want) {
			t.Errorf("metrics %q: table lacks %q:\n%s", c.metrics, c.want, table)
		}
	}
}

// TestBulkNoteSlowCPU: where the raw signature alone takes more than half
// of what 25,000 /s allows, the bulk row says how much the rest must shrink
// or that the CPU is the limit; unmeasured CPU is said as such.
func TestBulkNoteSlowCPU(t *testing.T) {
	got := bulkNote(136, true, 46294, 2)
	for _, want := range []string{"allow 80 µs of CPU a licence", "takes 43 µs", "leaving 37 µs", "which is 93 µs now", "cut by 60 %, or a faster CPU"} {
		if !strings.Contains(got, want) {
			t.Errorf("bulkNote lacks %q: %s", want, got)
		}
	}
	if got := bulkNote(0, false, 46294, 2); !strings.Contains(got, "not measured") {
		t.Errorf("unmeasured: %s", got)
	}
}

// repeatLine is the memo-repeat line TestRepeatIdleCoresNote's cases
// share: 2.60× raw by the wall clock, 3.53× by CPU time.
const repeatLine = "BenchmarkVerifyHTTP/memo-repeat-2 \t 100\t 26000 req/s\t 10000 raw_verify/s\t 17.0 cpu_us/req\t 60.0 raw_cpu_us/verify\t 3.53 cpu_ratio_to_raw\t 47000 floor_req/s\t 4.70 floor_ratio_to_raw\t 8.0 floor_cpu_us/req"

// TestRepeatIdleCoresNote: where a repeat verification already costs no
// more CPU than 3× allows but the wall clock misses, the row says so, with
// the cores the run kept busy, instead of asking the route for CPU it has
// already cut.
func TestRepeatIdleCoresNote(t *testing.T) {
	table := tableOf("BenchmarkSM2VerifyRaw-2 \t  100\t  100000 ns/op\n" +
		repeatLine + "\n")
	for _, want := range []string{
		"| 2.60× | ≥ 3× | **no** |",
		"the verify route adds 9 µs",
		"by CPU time a request is within what 3× allows (20.0 µs, a third of a raw verification)",
		"keeps only 0.44 of the 2 cores busy by its CPU time (the floor 0.38, the raw verifications 0.60)",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "would close it: the verify route under") {
		t.Errorf("table asks the route for CPU it is already under:\n%s", table)
	}
	// With the wider load measured: under 3× it says what the CPU a
	// request under full load must be cut to; at 3× or more, that the
	// target is met once the cores are filled.
	for _, c := range []struct{ wide, want string }{
		{"\t 29000 wide_req/s\t 64 wide_clients\t 2.90 wide_ratio_to_raw\t 22.0 wide_cpu_us/req\t 0.02 wide_idle_cores\t 0.65 idle_cores",
			"cores busy by its CPU time (the floor 0.38, the raw verifications 0.60), the machine's cores idle 0.65; with 64 connections the same server reaches 29,000 /s, 2.90× raw, the process keeping 0.64 cores busy at 22.0 µs CPU a request, the machine's cores idle 0.02; filling the cores raised the CPU a request past 20.0 µs; would close it"},
		{"\t 31000 wide_req/s\t 64 wide_clients\t 3.10 wide_ratio_to_raw\t 19.0 wide_cpu_us/req",
			"with 64 connections the same server reaches 31,000 /s, 3.10× raw, the process keeping 0.59 cores busy at 19.0 µs CPU a request: the target is met once the load fills the cores"},
		{"\t 28000 wide_req/s\t 64 wide_clients\t 2.80 wide_ratio_to_raw\t 18.5 wide_cpu_us/req\t 0.40 wide_idle_cores",
			"at 18.5 µs CPU a request, the machine's cores idle 0.40, still within what 3× allows: the time is lost waiting"},
		{"\t 28000 wide_req/s\t 64 wide_clients\t 2.80 wide_ratio_to_raw\t 18.5 wide_cpu_us/req\t 0.03 wide_idle_cores",
			"still within what 3× allows, with the cores full: the rest of their time goes outside this process"},
	} {
		table := tableOf("BenchmarkSM2VerifyRaw-2 \t  100\t  100000 ns/op\n" +
			repeatLine + c.wide + "\n")
		if !strings.Contains(table, c.want) || !strings.Contains(table, "| 2.60× | ≥ 3× | **no** |") {
			t.Errorf("wide %q: table lacks %q:\n%s", c.wide, c.want, table)
		}
	}
}

// tableOf renders the table from benchmark output, on 2 cores without
// OpenSSL.
func tableOf(out string) string {
	r := &results{m: map[string]map[string]float64{}, failed: map[string]string{}, logs: map[string]string{}, ncpu: 2}
	r.parse(out)
	var b bytes.Buffer
	writeTable(&b, rows(r, osslResult{missing: "openssl not installed"}, 2))
	return b.String()
}
