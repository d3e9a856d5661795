package issuerapi

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"elicence/api"
	"elicence/issuer"
	"elicence/issuer/kind"
	"elicence/issuer/store"
)

// TestToAPIError pins the problem kind and detail of every sentinel of
// the issuer and the store, bare, wrapped and as an issuer.Problem, and of
// errors of no kind.
func TestToAPIError(t *testing.T) {
	const conflict, storeDown = "the request conflicts with the current state", "the licence store is unavailable; nothing was confirmed, send the request again later"
	type want struct {
		kind   api.Kind
		detail string
	}
	var cases []struct {
		err error
		want
	}
	for w, errs := range map[want][]error{
		{api.KindUnauthorized, "missing, unknown or revoked credentials"}:             {issuer.ErrUnauthenticated},
		{api.KindForbidden, "the token may not do this"}:                              {issuer.ErrForbidden},
		{api.KindForbidden, "the department is not authorised for this licence type"}: {store.ErrNotAuthorised},
		{api.KindNotFound, "not found"}:                                               {store.ErrNotFound},
		{api.KindConflict, "the Idempotency-Key was used with a different request"}:   {store.ErrIdempotencyMismatch},
		{api.KindConflict, conflict}:                                                  {store.ErrConflict, store.ErrDuplicate, store.ErrInvalidTransition, store.ErrKeyNotActive, issuer.ErrNotUsable},
		{api.KindUnavailable, "the service cannot do this now"}:                       {issuer.ErrUnavailable},
		{api.KindBadRequest, "invalid argument"}:                                      {store.ErrInvalid},
		{api.KindUnavailable, storeDown}:                                              {store.ErrUnavailable, &net.OpError{Op: "dial", Err: errors.New("refused")}},
		{api.KindValidation, "the request is invalid"}:                                {&issuer.ValidationError{Errors: []issuer.FieldError{{Field: "f", Reason: "r"}}}},
		{api.KindInternal, ""}:                                                        {store.ErrChainBroken, errors.New("disk on fire")},
	} {
		for _, err := range errs {
			cases = append(cases, struct {
				err error
				want
			}{err, w})
		}
	}
	for _, tc := range cases {
		for _, err := range []error{tc.err, fmt.Errorf("context: %w", tc.err)} {
			got := toAPIError(err)
			var ae *api.Error
			if !errors.As(got, &ae) {
				if tc.kind != api.KindInternal {
					t.Errorf("%v: not classified, want kind %d", err, tc.kind)
				}
				continue
			}
			if ae.Kind != tc.kind || ae.Detail != tc.detail {
				t.Errorf("%v: kind %d detail %q, want %d %q", err, ae.Kind, ae.Detail, tc.kind, tc.detail)
			}
			if (ae.Kind == api.KindUnavailable) != (ae.RetryAfter > 0) {
				t.Errorf("%v: Retry-After %s", err, ae.RetryAfter)
			}
		}
		if tc.kind == api.KindInternal || tc.kind == api.KindValidation || errors.Is(tc.err, store.ErrUnavailable) || kind.Of(tc.err) == kind.Internal {
			continue
		}
		// A problem keeps its sentinel's kind and sends its own detail.
		got := toAPIError(&issuer.Problem{Err: tc.err, Detail: "licence L1 is revoked"})
		var ae *api.Error
		if !errors.As(got, &ae) || ae.Kind != tc.kind || ae.Detail != "licence L1 is revoked" {
			t.Errorf("problem of %v: %v", tc.err, got)
		}
	}
}
