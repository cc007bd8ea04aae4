package grpctopo

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"vitess.io/vitess/go/vt/topo"

	globalv1 "topo/go/gen/topo/global/v1"
)

// Lock is part of the topo.Conn interface: a lock on an existing directory (NoNode
// otherwise), waited for until ctx ends (Timeout at its deadline, Interrupted when
// cancelled), held through a global-topo Lock stream until Unlock.
func (s *Server) Lock(ctx context.Context, dirPath, contents string) (topo.LockDescriptor, error) {
	return s.lock(ctx, s.pathTarget(globalv1.LockKind_LOCK_KIND_PATH, dirPath), contents, 0, false)
}

// LockWithTTL is part of the topo.Conn interface: as Lock, with the lock's lease TTL
// chosen by the caller (whole seconds, rounded up), kept alive until Unlock.
func (s *Server) LockWithTTL(ctx context.Context, dirPath, contents string, ttl time.Duration) (topo.LockDescriptor, error) {
	seconds := int64(math.Ceil(ttl.Seconds()))
	if seconds < 1 {
		seconds = 1
	}
	return s.lock(ctx, s.pathTarget(globalv1.LockKind_LOCK_KIND_PATH, dirPath), contents, seconds, false)
}

// LockName is part of the topo.Conn interface: a named lock on a path that need not
// exist, with the service's long named-lock TTL, kept alive until Unlock.
func (s *Server) LockName(ctx context.Context, dirPath, contents string) (topo.LockDescriptor, error) {
	return s.lock(ctx, s.pathTarget(globalv1.LockKind_LOCK_KIND_NAMED, dirPath), contents, 0, false)
}

// TryLock is part of the topo.Conn interface: as Lock, but NodeExists at once when the
// lock is held or waited for.
func (s *Server) TryLock(ctx context.Context, dirPath, contents string) (topo.LockDescriptor, error) {
	return s.lock(ctx, s.pathTarget(globalv1.LockKind_LOCK_KIND_PATH, dirPath), contents, 0, true)
}

func (s *Server) pathTarget(kind globalv1.LockKind, dirPath string) *globalv1.LockTarget {
	return &globalv1.LockTarget{Kind: kind, Path: s.servicePath(dirPath)}
}

// noGlobal is the answer of a cell's Conn to lock and election calls: Vitess takes
// locks and runs elections in the global topology, and cell-topo serves neither.
func (s *Server) noGlobal(what string) error {
	return topo.NewError(topo.NoImplementation, fmt.Sprintf("%s in cell %v: locks and elections are served by global-topo only", what, s.cell))
}

func (s *Server) lock(ctx context.Context, target *globalv1.LockTarget, contents string, ttlSeconds int64, tryOnly bool) (topo.LockDescriptor, error) {
	if s.global == nil {
		return nil, s.noGlobal("lock " + target.GetPath())
	}
	req := &globalv1.LockRequest{Target: target, Contents: &contents, TryOnly: tryOnly}
	if ttlSeconds > 0 {
		req.Ttl = &durationpb.Duration{Seconds: ttlSeconds}
	}
	if deadline, ok := ctx.Deadline(); ok {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, topo.NewError(topo.Timeout, target.GetPath())
		}
		req.WaitTimeout = durationpb.New(wait)
	}
	// The stream holds the lock until Unlock, so it outlives ctx; ctx only bounds the wait.
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := s.global.Lock(streamCtx, req)
	if err != nil {
		cancel()
		return nil, convertError(err, target.GetPath())
	}
	type answer struct {
		msg *globalv1.LockResponse
		err error
	}
	first := make(chan answer, 1)
	go func() {
		msg, err := stream.Recv()
		first <- answer{msg, err}
	}()
	var granted *globalv1.LockGrant
	select {
	case <-ctx.Done():
		// Ending the stream makes the service drop the queued key (or release the lock if
		// it was granted meanwhile).
		cancel()
		return nil, convertError(ctx.Err(), target.GetPath())
	case a := <-first:
		if a.err != nil {
			cancel()
			return nil, convertError(a.err, target.GetPath())
		}
		if granted = a.msg.GetGranted(); granted == nil {
			cancel()
			return nil, fmt.Errorf("grpctopo: lock %v: expected a grant, got %v", target.GetPath(), a.msg)
		}
	}
	ld := &lockDescriptor{s: s, target: target, grant: granted, cancel: cancel, lost: make(chan struct{})}
	go ld.watch(stream)
	return ld, nil
}

type lockDescriptor struct {
	s      *Server
	target *globalv1.LockTarget
	grant  *globalv1.LockGrant
	cancel context.CancelFunc

	// lost is closed when the stream says the lock is lost or ends.
	lost     chan struct{}
	mu       sync.Mutex
	released bool
}

// watch follows the Lock stream: its next message is `lost`, or it ends.
func (ld *lockDescriptor) watch(stream globalv1.GlobalTopoService_LockClient) {
	defer close(ld.lost)
	for {
		if _, err := stream.Recv(); err != nil {
			return
		}
	}
}

// Check is part of the topo.LockDescriptor interface: the lock is still held, by the
// stream's word and by the service's lock queue.
func (ld *lockDescriptor) Check(ctx context.Context) error {
	select {
	case <-ld.lost:
		return fmt.Errorf("grpctopo: lock %v was lost", ld.grant.GetLockId())
	default:
	}
	res, err := ld.s.global.ListLocks(ctx, &globalv1.ListLocksRequest{Target: ld.target})
	if err != nil {
		return convertError(err, ld.target.GetPath())
	}
	for _, info := range res.GetLocks() {
		if info.GetLockId() == ld.grant.GetLockId() && info.GetHeld() {
			return nil
		}
	}
	return fmt.Errorf("grpctopo: lock %v is no longer held", ld.grant.GetLockId())
}

// Unlock is part of the topo.LockDescriptor interface: it returns once the service has
// released the lock, so the next contender can have it.
func (ld *lockDescriptor) Unlock(ctx context.Context) error {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.released {
		return fmt.Errorf("grpctopo: lock %v already unlocked", ld.grant.GetLockId())
	}
	ld.released = true
	defer ld.cancel()
	_, err := ld.s.global.ReleaseLock(ctx, &globalv1.ReleaseLockRequest{LockId: ld.grant.GetLockId(), FencingToken: ld.grant.GetFencingToken()})
	return convertError(err, ld.grant.GetLockId())
}
