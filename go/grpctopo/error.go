package grpctopo

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"vitess.io/vitess/go/vt/topo"
)

// convertError maps a service's gRPC status to the topo error it stands for (the
// services' one mapping, docs/global-topo.md "Errors"), and a context's end to
// Interrupted or Timeout. FAILED_PRECONDITION stands for several topo errors; the
// services start its message with the error's name.
func convertError(err error, nodePath string) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.NotFound:
			return topo.NewError(topo.NoNode, nodePath)
		case codes.AlreadyExists:
			return topo.NewError(topo.NodeExists, nodePath)
		case codes.FailedPrecondition:
			switch {
			case strings.HasPrefix(s.Message(), "BadVersion: "):
				return topo.NewError(topo.BadVersion, nodePath)
			case strings.HasPrefix(s.Message(), "NodeNotEmpty: "):
				return topo.NewError(topo.NodeNotEmpty, nodePath)
			}
			return err
		case codes.DeadlineExceeded:
			return topo.NewError(topo.Timeout, nodePath)
		case codes.Canceled:
			return topo.NewError(topo.Interrupted, nodePath)
		case codes.ResourceExhausted:
			return topo.NewError(topo.ResourceExhausted, nodePath)
		case codes.Unimplemented:
			return topo.NewError(topo.NoImplementation, nodePath)
		}
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return topo.NewError(topo.Interrupted, nodePath)
	case errors.Is(err, context.DeadlineExceeded):
		return topo.NewError(topo.Timeout, nodePath)
	}
	return err
}
