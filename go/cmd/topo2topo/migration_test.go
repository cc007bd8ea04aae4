package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"google.golang.org/protobuf/proto"

	"vitess.io/vitess/go/vt/topo"
	_ "vitess.io/vitess/go/vt/topo/etcd2topo"

	topodatapb "vitess.io/vitess/go/vt/proto/topodata"
	vschemapb "vitess.io/vitess/go/vt/proto/vschema"

	_ "topo/go/grpctopo"
	"topo/go/internal/stacktest"
)

// buildTopo2Topo builds this command into a directory any user can read: Vitess's
// binaries refuse to run as root, so the test runs it as an unprivileged user.
func buildTopo2Topo(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "topo2topo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "topo2topo")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build topo2topo: %v", err)
	}
	return binary
}

// everything is what topo2topo copies: keyspaces (with their vschemas), shards, shard
// replications, tablets and routing rules.
var everything = []string{"--do-keyspaces", "--do-shards", "--do-shard-replications", "--do-tablets", "--do-routing-rules"}

// runTopo2Topo runs the command from one topology to another with the given --do flags.
func runTopo2Topo(t *testing.T, binary string, from, to [3]string, do []string) {
	t.Helper()
	args := append([]string{
		"--from-implementation", from[0], "--from-server", from[1], "--from-root", from[2],
		"--to-implementation", to[0], "--to-server", to[1], "--to-root", to[2],
	}, do...)
	command := append([]string{binary}, args...)
	if os.Getuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Fatalf("running as root and setpriv is missing to run topo2topo as an unprivileged user: %v", err)
		}
		command = append([]string{setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"}, command...)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = filepath.Dir(binary)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("topo2topo %v -> %v: %v\n%s", from[0], to[0], err, out)
	}
}

func open(t *testing.T, implementation, address, root string) *topo.Server {
	t.Helper()
	ts, err := topo.OpenServer(implementation, address, root)
	if err != nil {
		t.Fatalf("OpenServer %v %v %v: %v", implementation, address, root, err)
	}
	t.Cleanup(ts.Close)
	return ts
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v: %v", what, err)
	}
}

// seed writes a small Vitess topology through Vitess's own API. Every shard has a tablet
// in the cell: topo2topo's replication-graph copy fails on a shard without one (Vitess's
// helpers.CopyShardReplications treats the missing graph as an error).
func seed(t *testing.T, ctx context.Context, ts *topo.Server) {
	check(t, "CreateKeyspace commerce", ts.CreateKeyspace(ctx, "commerce", &topodatapb.Keyspace{DurabilityPolicy: "semi_sync", SidecarDbName: "_vt"}))
	check(t, "CreateKeyspace customer", ts.CreateKeyspace(ctx, "customer", &topodatapb.Keyspace{DurabilityPolicy: "none", SidecarDbName: "_vt"}))
	for _, s := range [][2]string{{"commerce", "-80"}, {"commerce", "80-"}, {"customer", "x1"}} {
		check(t, "CreateShard "+s[0]+"/"+s[1], ts.CreateShard(ctx, s[0], s[1]))
	}
	_, err := ts.UpdateShardFields(ctx, "commerce", "-80", func(si *topo.ShardInfo) error {
		si.PrimaryAlias = &topodatapb.TabletAlias{Cell: "test", Uid: 100}
		return nil
	})
	check(t, "UpdateShardFields", err)
	check(t, "SaveVSchema", ts.SaveVSchema(ctx, &topo.KeyspaceVSchemaInfo{Name: "commerce", Keyspace: &vschemapb.Keyspace{
		Sharded:  true,
		Vindexes: map[string]*vschemapb.Vindex{"hash": {Type: "hash"}},
		Tables:   map[string]*vschemapb.Table{"corder": {ColumnVindexes: []*vschemapb.ColumnVindex{{Column: "id", Name: "hash"}}}},
	}}))
	check(t, "SaveRoutingRules", ts.SaveRoutingRules(ctx, &vschemapb.RoutingRules{Rules: []*vschemapb.RoutingRule{{FromTable: "corder", ToTables: []string{"commerce.corder"}}}}))
	for _, tablet := range []*topodatapb.Tablet{
		{Alias: &topodatapb.TabletAlias{Cell: "test", Uid: 100}, Hostname: "db-100", PortMap: map[string]int32{"grpc": 15999}, Keyspace: "commerce", Shard: "-80", Type: topodatapb.TabletType_PRIMARY},
		{Alias: &topodatapb.TabletAlias{Cell: "test", Uid: 101}, Hostname: "db-101", Keyspace: "commerce", Shard: "-80", Type: topodatapb.TabletType_REPLICA},
		{Alias: &topodatapb.TabletAlias{Cell: "test", Uid: 110}, Hostname: "db-110", Keyspace: "commerce", Shard: "80-", Type: topodatapb.TabletType_PRIMARY},
		{Alias: &topodatapb.TabletAlias{Cell: "test", Uid: 200}, Hostname: "db-200", Keyspace: "customer", Shard: "x1", Type: topodatapb.TabletType_PRIMARY},
	} {
		check(t, "CreateTablet", ts.CreateTablet(ctx, tablet))
	}
}

// copyKeyspaces copies every keyspace and its vschema as topo2topo's --do-keyspaces means
// to, but saving the vschema without a version. topo2topo passes the source's version to
// the target's compare-and-swap (vitess.io/vitess helpers.CopyKeyspaces): into the
// services that is refused (a version of another implementation), so its vschema copy
// never lands; into etcd2 from anything but etcd2 it panics in etcd2topo's type
// assertion; etcd2 to etcd2 it fails with BadVersion. withKeyspaces also creates the
// keyspaces (when topo2topo could not run with --do-keyspaces).
func copyKeyspaces(t *testing.T, ctx context.Context, from, to *topo.Server, withKeyspaces bool) {
	keyspaces, err := from.GetKeyspaces(ctx)
	check(t, "GetKeyspaces", err)
	for _, ks := range keyspaces {
		if withKeyspaces {
			ki, err := from.GetKeyspace(ctx, ks)
			check(t, "GetKeyspace "+ks, err)
			check(t, "CreateKeyspace "+ks, to.CreateKeyspace(ctx, ks, ki.Keyspace))
		}
		vs, err := from.GetVSchema(ctx, ks)
		if topo.IsErrType(err, topo.NoNode) {
			continue
		}
		check(t, "GetVSchema "+ks, err)
		check(t, "SaveVSchema "+ks, to.SaveVSchema(ctx, &topo.KeyspaceVSchemaInfo{Name: ks, Keyspace: vs.Keyspace}))
	}
}

func equal(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%v differs: got %v, want %v", what, got, want)
	}
}

// compare reads every record of the seeded topology on both sides through Vitess's API.
func compare(t *testing.T, ctx context.Context, from, to *topo.Server) {
	t.Helper()
	keyspaces, err := from.GetKeyspaces(ctx)
	check(t, "GetKeyspaces from", err)
	toKeyspaces, err := to.GetKeyspaces(ctx)
	check(t, "GetKeyspaces to", err)
	if len(keyspaces) != 2 || len(toKeyspaces) != len(keyspaces) {
		t.Fatalf("keyspaces: from %v, to %v", keyspaces, toKeyspaces)
	}
	for _, ks := range keyspaces {
		a, err := from.GetKeyspace(ctx, ks)
		check(t, "GetKeyspace from", err)
		b, err := to.GetKeyspace(ctx, ks)
		check(t, "GetKeyspace to", err)
		equal(t, "keyspace "+ks, b.Keyspace, a.Keyspace)
		shards, err := from.GetShardNames(ctx, ks)
		check(t, "GetShardNames from", err)
		toShards, err := to.GetShardNames(ctx, ks)
		check(t, "GetShardNames to", err)
		sort.Strings(shards)
		sort.Strings(toShards)
		if len(shards) == 0 || len(shards) != len(toShards) {
			t.Fatalf("shards of %v: from %v, to %v", ks, shards, toShards)
		}
		for i, shard := range shards {
			if toShards[i] != shard {
				t.Fatalf("shards of %v: from %v, to %v", ks, shards, toShards)
			}
			a, err := from.GetShard(ctx, ks, shard)
			check(t, "GetShard from", err)
			b, err := to.GetShard(ctx, ks, shard)
			check(t, "GetShard to", err)
			equal(t, "shard "+ks+"/"+shard, b.Shard, a.Shard)
			ra, errA := from.GetShardReplication(ctx, "test", ks, shard)
			rb, errB := to.GetShardReplication(ctx, "test", ks, shard)
			if topo.IsErrType(errA, topo.NoNode) != topo.IsErrType(errB, topo.NoNode) {
				t.Errorf("replication graph of %v/%v: from %v, to %v", ks, shard, errA, errB)
			} else if errA == nil {
				check(t, "GetShardReplication to", errB)
				equal(t, "replication graph "+ks+"/"+shard, rb.ShardReplication, ra.ShardReplication)
			}
		}
		va, errA := from.GetVSchema(ctx, ks)
		vb, errB := to.GetVSchema(ctx, ks)
		if topo.IsErrType(errA, topo.NoNode) != topo.IsErrType(errB, topo.NoNode) {
			t.Errorf("vschema of %v: from %v, to %v", ks, errA, errB)
		} else if errA == nil {
			check(t, "GetVSchema to", errB)
			equal(t, "vschema "+ks, vb.Keyspace, va.Keyspace)
		}
	}
	ra, err := from.GetRoutingRules(ctx)
	check(t, "GetRoutingRules from", err)
	rb, err := to.GetRoutingRules(ctx)
	check(t, "GetRoutingRules to", err)
	equal(t, "routing rules", rb, ra)
	ta, err := from.GetTabletsByCell(ctx, "test", nil)
	check(t, "GetTabletsByCell from", err)
	tb, err := to.GetTabletsByCell(ctx, "test", nil)
	check(t, "GetTabletsByCell to", err)
	if len(ta) != 4 || len(tb) != len(ta) {
		t.Fatalf("tablets: from %d, to %d", len(ta), len(tb))
	}
	byAlias := map[uint32]*topodatapb.Tablet{}
	for _, ti := range tb {
		byAlias[ti.Alias.Uid] = ti.Tablet
	}
	for _, ti := range ta {
		equal(t, fmt.Sprintf("tablet %v", ti.Alias), byAlias[ti.Alias.Uid], ti.Tablet)
	}
}

// TestTopo2TopoMigration copies a whole topology with Vitess's own topo2topo from an
// etcd2topo cluster into the services, compares every record, then copies it back into
// a fresh etcd2topo root and compares again.
func TestTopo2TopoMigration(t *testing.T) {
	ctx := t.Context()
	binary := buildTopo2Topo(t)
	source := stacktest.StartEtcd(t)[0]
	st := stacktest.StartStack(t, "etcd")

	etcd2 := open(t, "etcd2", source, "/vitess/global")
	check(t, "source CellInfo", etcd2.CreateCellInfo(ctx, "test", &topodatapb.CellInfo{ServerAddress: source, Root: "/vitess/test"}))
	seed(t, ctx, etcd2)

	services := open(t, "grpc", st.GlobalAddr, st.GlobalRoot)
	check(t, "target CellInfo", services.CreateCellInfo(ctx, "test", &topodatapb.CellInfo{ServerAddress: st.CellAddr, Root: st.CellRoot}))
	runTopo2Topo(t, binary, [3]string{"etcd2", source, "/vitess/global"}, [3]string{"grpc", st.GlobalAddr, st.GlobalRoot}, everything)
	copyKeyspaces(t, ctx, etcd2, services, false)
	compare(t, ctx, etcd2, services)

	back := open(t, "etcd2", source, "/back/global")
	check(t, "back CellInfo", back.CreateCellInfo(ctx, "test", &topodatapb.CellInfo{ServerAddress: source, Root: "/back/test"}))
	copyKeyspaces(t, ctx, services, back, true)
	runTopo2Topo(t, binary, [3]string{"grpc", st.GlobalAddr, st.GlobalRoot}, [3]string{"etcd2", source, "/back/global"}, everything[1:])
	compare(t, ctx, services, back)
}
