package grpctopo

import (
	"context"

	"vitess.io/vitess/go/vt/topo"

	pathv1 "topo/go/gen/topo/path/v1"
)

// Watch is part of the topo.Conn interface: the path API's Watch, whose first message is
// the current value (NoNode when the file is missing) and whose end is the file's
// deletion (NoNode) or the caller's cancellation (Interrupted).
func (s *Server) Watch(ctx context.Context, filePath string) (*topo.WatchData, <-chan *topo.WatchData, error) {
	watchCtx, cancel := context.WithCancel(ctx)
	stream, err := s.path.Watch(watchCtx, &pathv1.WatchRequest{Path: s.servicePath(filePath)})
	if err != nil {
		cancel()
		return nil, nil, convertError(err, filePath)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, nil, convertError(err, filePath)
	}
	current := &topo.WatchData{Contents: first.GetContents(), Version: Version(first.GetVersion())}
	changes := make(chan *topo.WatchData, 10)
	go func() {
		defer cancel()
		defer close(changes)
		for {
			msg, err := stream.Recv()
			if err != nil {
				changes <- &topo.WatchData{Err: endOfWatch(ctx, err, filePath)}
				return
			}
			// A status message says whether the service reaches its backend; topo.Conn has
			// no such event, and the watch goes on either way.
			if msg.GetBackend() != nil {
				continue
			}
			changes <- &topo.WatchData{Contents: msg.GetContents(), Version: Version(msg.GetVersion())}
		}
	}()
	return current, changes, nil
}

// WatchRecursive is part of the topo.Conn interface: the path API's WatchRecursive, its
// snapshot as the initial values and each change after it, a delete as NoNode for that
// path. Paths are backend keys, as etcd2topo reports them.
func (s *Server) WatchRecursive(ctx context.Context, dirPath string) ([]*topo.WatchDataRecursive, <-chan *topo.WatchDataRecursive, error) {
	watchCtx, cancel := context.WithCancel(ctx)
	stream, err := s.path.WatchRecursive(watchCtx, &pathv1.WatchRecursiveRequest{Path: s.servicePath(dirPath)})
	if err != nil {
		cancel()
		return nil, nil, convertError(err, dirPath)
	}
	// The snapshot may come in parts (continued), status messages aside.
	var initial []*topo.WatchDataRecursive
	for {
		snapshot, err := stream.Recv()
		if err != nil {
			cancel()
			return nil, nil, convertError(err, dirPath)
		}
		if snapshot.GetBackend() != nil {
			continue
		}
		for _, change := range snapshot.GetChanges() {
			initial = append(initial, s.recursiveChange(change))
		}
		if !snapshot.GetContinued() {
			break
		}
	}
	changes := make(chan *topo.WatchDataRecursive, 10)
	go func() {
		defer cancel()
		defer close(changes)
		for {
			msg, err := stream.Recv()
			if err != nil {
				changes <- &topo.WatchDataRecursive{Path: s.key(s.servicePath(dirPath)), WatchData: topo.WatchData{Err: endOfWatch(ctx, err, dirPath)}}
				return
			}
			// Bookmarks and status messages carry no changes. The parts of a transaction
			// split over messages (continued) are passed on as they come, as etcd2topo
			// passes on each event of a transaction.
			for _, change := range msg.GetChanges() {
				changes <- s.recursiveChange(change)
			}
		}
	}()
	return initial, changes, nil
}

func (s *Server) recursiveChange(change *pathv1.Change) *topo.WatchDataRecursive {
	key := s.key(change.GetPath())
	if change.GetType() == pathv1.ChangeType_CHANGE_TYPE_DELETE {
		return &topo.WatchDataRecursive{Path: key, WatchData: topo.WatchData{Err: topo.NewError(topo.NoNode, key)}}
	}
	return &topo.WatchDataRecursive{Path: key, WatchData: topo.WatchData{Contents: change.GetContents(), Version: Version(change.GetVersion())}}
}

// endOfWatch is the error a watch ends with: Interrupted once the caller cancelled,
// whatever the stream saw, else the stream's status as a topo error.
func endOfWatch(ctx context.Context, err error, nodePath string) error {
	if ctx.Err() != nil {
		return topo.NewError(topo.Interrupted, nodePath)
	}
	return convertError(err, nodePath)
}
