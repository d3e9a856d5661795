package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "sqlstate " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

type retryErr bool

func (e retryErr) Error() string     { return "conn closed" }
func (e retryErr) SafeToRetry() bool { return bool(e) }

func TestIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("issue: %w", ErrUnavailable), true},
		{fmt.Errorf("acquire: %w", refused), true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("write: %w", syscall.EPIPE), true},
		{sqlStateErr("57P01"), true},  // admin_shutdown: pg_ctl stop
		{sqlStateErr("57P03"), true},  // cannot_connect_now: starting up
		{sqlStateErr("08006"), true},  // connection_failure
		{sqlStateErr("53300"), true},  // too_many_connections
		{sqlStateErr("23505"), false}, // unique_violation: a real answer
		{sqlStateErr("57014"), false}, // query_canceled
		{fmt.Errorf("dup: %w", ErrDuplicate), false},
		{context.Canceled, false},
		{fmt.Errorf("flush: %w", retryErr(true)), true}, // pgx: conn closed
		{retryErr(false), false},
		{errors.New("something else"), false},
	} {
		if got := IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
