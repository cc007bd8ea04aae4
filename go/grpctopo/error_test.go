package grpctopo

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"vitess.io/vitess/go/vt/topo"
)

// Every status the services answer with comes back as the topo error it stands for
// (docs/global-topo.md "Errors"), and a context's end as Interrupted or Timeout.
func TestConvertError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want topo.ErrorCode
	}{
		{status.Error(codes.NotFound, "node doesn't exist: a"), topo.NoNode},
		{status.Error(codes.AlreadyExists, "node already exists: a"), topo.NodeExists},
		{status.Error(codes.FailedPrecondition, "BadVersion: bad node version: a"), topo.BadVersion},
		{status.Error(codes.FailedPrecondition, "NodeNotEmpty: a has children"), topo.NodeNotEmpty},
		{status.Error(codes.DeadlineExceeded, "timed out waiting for lock"), topo.Timeout},
		{status.Error(codes.Canceled, "interrupted"), topo.Interrupted},
		{status.Error(codes.ResourceExhausted, "too many"), topo.ResourceExhausted},
		{status.Error(codes.Unimplemented, "no"), topo.NoImplementation},
		{context.Canceled, topo.Interrupted},
		{context.DeadlineExceeded, topo.Timeout},
		{fmt.Errorf("wrapped: %w", context.Canceled), topo.Interrupted},
	} {
		if got := convertError(tc.err, "a"); !topo.IsErrType(got, tc.want) {
			t.Errorf("convertError(%v) = %v, want topo error %v", tc.err, got, tc.want)
		}
	}
	// Statuses with no topo error stay the gRPC error, untouched.
	for _, err := range []error{
		status.Error(codes.FailedPrecondition, "LockLost: lock keyspaces/ks/locks/1 was lost"),
		status.Error(codes.InvalidArgument, "path: has an empty segment"),
		status.Error(codes.Unavailable, "connection refused"),
		status.Error(codes.OutOfRange, "compacted"),
	} {
		got := convertError(err, "a")
		if got != err {
			t.Errorf("convertError(%v) = %v, want the status unchanged", err, got)
		}
	}
	if convertError(nil, "a") != nil {
		t.Errorf("convertError(nil) is not nil")
	}
}

// A root Vitess passes is the service's root or a directory inside it.
func TestServedDir(t *testing.T) {
	for _, tc := range []struct{ service, root, want string }{
		{"/topo/global", "/topo/global", ""},
		{"/topo/global", "/topo/global/", ""},
		{"/topo/global", "/topo/global/suite-1", "suite-1"},
		{"/topo/global", "/topo/global/a/b", "a/b"},
	} {
		if got, err := servedDir(tc.service, tc.root); err != nil || got != tc.want {
			t.Errorf("servedDir(%q, %q) = %q, %v; want %q", tc.service, tc.root, got, err, tc.want)
		}
	}
	for _, root := range []string{"/topo/globalx", "/topo", "/other", ""} {
		if _, err := servedDir("/topo/global", root); err == nil {
			t.Errorf("servedDir(/topo/global, %q) accepted a root outside the service's", root)
		}
	}
}
