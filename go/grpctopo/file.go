package grpctopo

import (
	"context"
	"fmt"

	"vitess.io/vitess/go/vt/topo"

	pathv1 "topo/go/gen/topo/path/v1"
)

// Version is a topo.Version: the etcd mod revision of the write that produced a value,
// as the services report it.
type Version int64

// String is part of the topo.Version interface.
func (v Version) String() string {
	return fmt.Sprintf("%d", int64(v))
}

// wireVersion is the version a request carries: 0 for none (an upsert or a blind delete).
func wireVersion(version topo.Version) (int64, error) {
	if version == nil {
		return 0, nil
	}
	v, ok := version.(Version)
	if !ok {
		return 0, fmt.Errorf("grpctopo: version %v is a %T, not a grpctopo.Version", version, version)
	}
	return int64(v), nil
}

// Create is part of the topo.Conn interface.
func (s *Server) Create(ctx context.Context, filePath string, contents []byte) (topo.Version, error) {
	res, err := s.path.Create(ctx, &pathv1.CreateRequest{Path: s.servicePath(filePath), Contents: contents})
	if err != nil {
		return nil, convertError(err, filePath)
	}
	return Version(res.GetVersion()), nil
}

// Update is part of the topo.Conn interface.
func (s *Server) Update(ctx context.Context, filePath string, contents []byte, version topo.Version) (topo.Version, error) {
	v, err := wireVersion(version)
	if err != nil {
		return nil, err
	}
	res, err := s.path.Update(ctx, &pathv1.UpdateRequest{Path: s.servicePath(filePath), Contents: contents, Version: v})
	if err != nil {
		return nil, convertError(err, filePath)
	}
	return Version(res.GetVersion()), nil
}

// Get is part of the topo.Conn interface.
func (s *Server) Get(ctx context.Context, filePath string) ([]byte, topo.Version, error) {
	res, err := s.path.Get(ctx, &pathv1.GetRequest{Path: s.servicePath(filePath)})
	if err != nil {
		return nil, nil, convertError(err, filePath)
	}
	return res.GetContents(), Version(res.GetVersion()), nil
}

// GetVersion is part of the topo.Conn interface.
func (s *Server) GetVersion(ctx context.Context, filePath string, version int64) ([]byte, error) {
	res, err := s.path.GetVersion(ctx, &pathv1.GetVersionRequest{Path: s.servicePath(filePath), Version: version})
	if err != nil {
		return nil, convertError(err, filePath)
	}
	return res.GetContents(), nil
}

// List is part of the topo.Conn interface: every page of the path API's List, all read
// at the first page's revision. Keys are the backend's keys, as etcd2topo's.
func (s *Server) List(ctx context.Context, filePathPrefix string) ([]topo.KVInfo, error) {
	req := &pathv1.ListRequest{Prefix: s.servicePath(filePathPrefix)}
	var kvs []topo.KVInfo
	for {
		res, err := s.path.List(ctx, req)
		if err != nil {
			return []topo.KVInfo{}, convertError(err, filePathPrefix)
		}
		for _, kv := range res.GetKvs() {
			kvs = append(kvs, topo.KVInfo{Key: []byte(kv.GetKey()), Value: kv.GetContents(), Version: Version(kv.GetVersion())})
		}
		if res.GetNextPageToken() == "" {
			return kvs, nil
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// Delete is part of the topo.Conn interface.
func (s *Server) Delete(ctx context.Context, filePath string, version topo.Version) error {
	v, err := wireVersion(version)
	if err != nil {
		return err
	}
	_, err = s.path.Delete(ctx, &pathv1.DeleteRequest{Path: s.servicePath(filePath), Version: v})
	return convertError(err, filePath)
}
