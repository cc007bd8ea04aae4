package grpctopo_test

import (
	"context"
	"fmt"
	"path"
	"testing"

	"vitess.io/vitess/go/vt/topo"
	"vitess.io/vitess/go/vt/topo/test"

	topodatapb "vitess.io/vitess/go/vt/proto/topodata"

	_ "topo/go/grpctopo"
	"topo/go/internal/stacktest"
)

// newSuiteFactory hands Vitess's suite an empty topology per call, cheaply: one service
// pair per backend, and each call's Conns serve a fresh directory inside the services'
// roots (a root inside the service's root is a directory this plugin serves, as an
// etcd2topo root inside another would be). Nothing is reset and nothing is special to
// tests: the services see ordinary requests under ordinary paths.
func newSuiteFactory(t *testing.T, st stacktest.Stack) func() *topo.Server {
	index := 0
	return func() *topo.Server {
		index++
		dir := fmt.Sprintf("suite-%d", index)
		ts, err := topo.OpenServer("grpc", st.GlobalAddr, path.Join(st.GlobalRoot, dir))
		if err != nil {
			t.Fatalf("OpenServer: %v", err)
		}
		if err := ts.CreateCellInfo(context.Background(), test.LocalCellName, &topodatapb.CellInfo{
			ServerAddress: st.CellAddr,
			Root:          path.Join(st.CellRoot, dir),
		}); err != nil {
			t.Fatalf("CreateCellInfo: %v", err)
		}
		return ts
	}
}

// TestTopoServerTestSuite runs Vitess's own topo.Conn conformance suite, with nothing
// ignored, over the memory backend and over etcd.
func TestTopoServerTestSuite(t *testing.T) {
	for _, backend := range []string{"memory", "etcd"} {
		t.Run(backend, func(t *testing.T) {
			st := stacktest.StartStack(t, backend)
			test.TopoServerTestSuite(t, t.Context(), newSuiteFactory(t, st), []string{})
		})
	}
}
