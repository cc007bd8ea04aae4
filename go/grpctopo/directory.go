package grpctopo

import (
	"context"

	"vitess.io/vitess/go/vt/topo"

	pathv1 "topo/go/gen/topo/path/v1"
)

// ListDir is part of the topo.Conn interface. Entries come sorted, typed and flagged
// ephemeral by the service, whether or not full is asked for.
func (s *Server) ListDir(ctx context.Context, dirPath string, full bool) ([]topo.DirEntry, error) {
	res, err := s.path.ListDir(ctx, &pathv1.ListDirRequest{Path: s.servicePath(dirPath)})
	if err != nil {
		return nil, convertError(err, dirPath)
	}
	entries := make([]topo.DirEntry, 0, len(res.GetEntries()))
	for _, entry := range res.GetEntries() {
		e := topo.DirEntry{Name: entry.GetName()}
		if full {
			e.Type = topo.TypeFile
			if entry.GetType() == pathv1.EntryType_ENTRY_TYPE_DIRECTORY {
				e.Type = topo.TypeDirectory
			}
			e.Ephemeral = entry.GetEphemeral()
		}
		entries = append(entries, e)
	}
	return entries, nil
}
