package grpctopo_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"vitess.io/vitess/go/vt/topo"
	_ "vitess.io/vitess/go/vt/topo/etcd2topo"

	topodatapb "vitess.io/vitess/go/vt/proto/topodata"
	vschemapb "vitess.io/vitess/go/vt/proto/vschema"

	cellv1 "topo/go/gen/topo/cell/v1"
	datav1 "topo/go/gen/topo/data/v1"
	globalv1 "topo/go/gen/topo/global/v1"
	vschemav1 "topo/go/gen/topo/vschema/v1"
	"topo/go/internal/stacktest"
)

// The services' etcd layout is Vitess's etcd2topo layout: the same keys under the same
// root, the same protobuf bytes. These tests write through one side and read through the
// other over the same etcd clusters, both ways.

// vitessViews opens etcd2topo over the stack's etcd clusters: global at the global-topo's
// root; the cell at the cell-topo's root. etcd2topo finds a cell's etcd through a CellInfo
// in its global topology, and the services' CellInfo names cell-topo (a gRPC address), so
// the cell view is a topo.Server whose global topology is a scratch root in the cell's
// etcd holding one CellInfo that points at the cell's etcd and root.
func vitessViews(t *testing.T, st stacktest.Stack) (global, cell *topo.Server) {
	t.Helper()
	global, err := topo.OpenServer("etcd2", st.GlobalEtcd[0], st.GlobalRoot)
	if err != nil {
		t.Fatalf("etcd2 global: %v", err)
	}
	t.Cleanup(global.Close)
	cell, err = topo.OpenServer("etcd2", st.CellEtcd[0], "/etcd2topo-cell-view/global")
	if err != nil {
		t.Fatalf("etcd2 cell view: %v", err)
	}
	t.Cleanup(cell.Close)
	if err := cell.CreateCellInfo(context.Background(), "test", &topodatapb.CellInfo{ServerAddress: st.CellEtcd[0], Root: st.CellRoot}); err != nil {
		t.Fatalf("cell view CellInfo: %v", err)
	}
	return global, cell
}

type clients struct {
	global globalv1.GlobalTopoServiceClient
	cell   cellv1.CellTopoServiceClient
}

func dial(t *testing.T, st stacktest.Stack) clients {
	t.Helper()
	dialOne := func(addr string) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	return clients{global: globalv1.NewGlobalTopoServiceClient(dialOne(st.GlobalAddr)), cell: cellv1.NewCellTopoServiceClient(dialOne(st.CellAddr))}
}

// as decodes the bytes of one side's message as the other side's type.
func as[T proto.Message](t *testing.T, from proto.Message, to T) T {
	t.Helper()
	data, err := proto.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(data, to); err != nil {
		t.Fatalf("%T does not decode as %T: %v", from, to, err)
	}
	return to
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%v: %v", what, err)
		}
		return v
	}
}

func equal(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%v: got %v, want %v", what, got, want)
	}
}

// untilGlobalKnown retries a cell-topo call that needs the cell's view of the global
// topology, which follows global-topo's changes a moment later.
func untilGlobalKnown(t *testing.T, what string, call func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := call()
		if err == nil {
			return
		}
		code := status.Code(err)
		if (code != codes.Unavailable && code != codes.FailedPrecondition) || time.Now().After(deadline) {
			t.Fatalf("%v: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEtcd2TopoCompatibility(t *testing.T) {
	st := stacktest.StartStack(t, "etcd")
	ctx := t.Context()
	api := dial(t, st)
	vitessGlobal, vitessCell := vitessViews(t, st)

	t.Run("records written through the services read back through etcd2topo", func(t *testing.T) {
		must[*globalv1.CreateCellInfoResponse](t, "CreateCellInfo")(api.global.CreateCellInfo(ctx, &globalv1.CreateCellInfoRequest{Name: "test", CellInfo: &datav1.CellInfo{ServerAddress: st.CellAddr, Root: st.CellRoot}}))
		must[*globalv1.CreateKeyspaceResponse](t, "CreateKeyspace")(api.global.CreateKeyspace(ctx, &globalv1.CreateKeyspaceRequest{Name: "commerce"}))
		must[*globalv1.CreateKeyspaceResponse](t, "CreateKeyspace")(api.global.CreateKeyspace(ctx, &globalv1.CreateKeyspaceRequest{Name: "customer"}))
		for _, shard := range []struct{ ks, name string }{{"commerce", "-80"}, {"commerce", "80-"}, {"customer", "x1"}} {
			must[*globalv1.CreateShardResponse](t, "CreateShard")(api.global.CreateShard(ctx, &globalv1.CreateShardRequest{Keyspace: shard.ks, Name: shard.name}))
		}
		primary := &datav1.TabletAlias{Cell: "test", Uid: 100}
		must[*globalv1.UpdateShardFieldsResponse](t, "UpdateShardFields")(api.global.UpdateShardFields(ctx, &globalv1.UpdateShardFieldsRequest{Keyspace: "commerce", Name: "-80", PrimaryAlias: primary}))
		vschema := &vschemav1.Keyspace{Sharded: true, Vindexes: map[string]*vschemav1.Vindex{"hash": {Type: "hash"}}, Tables: map[string]*vschemav1.Table{"t": {ColumnVindexes: []*vschemav1.ColumnVindex{{Column: "id", Name: "hash"}}}}}
		must[*globalv1.SaveVSchemaResponse](t, "SaveVSchema")(api.global.SaveVSchema(ctx, &globalv1.SaveVSchemaRequest{Keyspace: "commerce", Vschema: must[[]byte](t, "marshal")(proto.Marshal(vschema))}))
		rules := &vschemav1.RoutingRules{Rules: []*vschemav1.RoutingRule{{FromTable: "t", ToTables: []string{"commerce.t"}}}}
		must[*globalv1.SaveRoutingRulesResponse](t, "SaveRoutingRules")(api.global.SaveRoutingRules(ctx, &globalv1.SaveRoutingRulesRequest{RoutingRules: must[[]byte](t, "marshal")(proto.Marshal(rules))}))
		tablet := &datav1.Tablet{Alias: primary, Hostname: "db-100", PortMap: map[string]int32{"grpc": 15999, "vt": 15000}, Keyspace: "commerce", Shard: "-80", Type: datav1.TabletType_PRIMARY, MysqlPort: 3306}
		untilGlobalKnown(t, "CreateTablet", func() error {
			_, err := api.cell.CreateTablet(ctx, &cellv1.CreateTabletRequest{Tablet: tablet})
			return err
		})
		// A live registration: its liveness record must stay out of Vitess's tablets/.
		replica := &datav1.Tablet{Alias: &datav1.TabletAlias{Cell: "test", Uid: 101}, Hostname: "db-101", Keyspace: "commerce", Shard: "-80", Type: datav1.TabletType_REPLICA}
		untilGlobalKnown(t, "RegisterTablet", func() error {
			_, err := api.cell.RegisterTablet(ctx, &cellv1.RegisterTabletRequest{Registration: &cellv1.Registration{Tablet: replica, Session: "compat", Ttl: durationpb.New(30 * time.Second)}})
			return err
		})
		for _, ks := range []string{"commerce", "customer"} {
			must[*globalv1.RebuildKeyspaceGraphResponse](t, "RebuildKeyspaceGraph")(api.global.RebuildKeyspaceGraph(ctx, &globalv1.RebuildKeyspaceGraphRequest{Keyspace: ks}))
		}
		must[*globalv1.RebuildVSchemaGraphResponse](t, "RebuildVSchemaGraph")(api.global.RebuildVSchemaGraph(ctx, &globalv1.RebuildVSchemaGraphRequest{}))

		ks := must[*topo.KeyspaceInfo](t, "etcd2 GetKeyspace")(vitessGlobal.GetKeyspace(ctx, "commerce"))
		if ks.DurabilityPolicy != "none" || ks.SidecarDbName != "_vt" {
			t.Errorf("keyspace defaults: got %q/%q, want none/_vt", ks.DurabilityPolicy, ks.SidecarDbName)
		}
		shard := must[*topo.ShardInfo](t, "etcd2 GetShard")(vitessGlobal.GetShard(ctx, "commerce", "-80"))
		equal(t, "primary", shard.PrimaryAlias, &topodatapb.TabletAlias{Cell: "test", Uid: 100})
		if names := must[[]string](t, "GetShardNames")(vitessGlobal.GetShardNames(ctx, "customer")); len(names) != 1 || names[0] != "x1" {
			t.Errorf("customer shards: got %v, want [x1]", names)
		}
		gotVSchema := must[*topo.KeyspaceVSchemaInfo](t, "etcd2 GetVSchema")(vitessGlobal.GetVSchema(ctx, "commerce"))
		equal(t, "vschema", gotVSchema.Keyspace, as(t, vschema, &vschemapb.Keyspace{}))
		equal(t, "routing rules", must[*vschemapb.RoutingRules](t, "GetRoutingRules")(vitessGlobal.GetRoutingRules(ctx)), as(t, rules, &vschemapb.RoutingRules{}))

		gotTablet := must[*topo.TabletInfo](t, "etcd2 GetTablet")(vitessCell.GetTablet(ctx, &topodatapb.TabletAlias{Cell: "test", Uid: 100}))
		equal(t, "tablet", gotTablet.Tablet, as(t, tablet, &topodatapb.Tablet{}))
		// GetTabletsByCell lists tablets/ and decodes every value as a Tablet.
		all := must[[]*topo.TabletInfo](t, "etcd2 GetTabletsByCell")(vitessCell.GetTabletsByCell(ctx, "test", nil))
		var uids []int
		for _, ti := range all {
			uids = append(uids, int(ti.Alias.Uid))
		}
		sort.Ints(uids)
		if len(uids) != 2 || uids[0] != 100 || uids[1] != 101 {
			t.Errorf("GetTabletsByCell: got uids %v, want [100 101]", uids)
		}
		graph := must[*topo.ShardReplicationInfo](t, "etcd2 GetShardReplication")(vitessCell.GetShardReplication(ctx, "test", "commerce", "-80"))
		if len(graph.Nodes) != 2 {
			t.Errorf("replication graph: got %v, want tablets 100 and 101", graph.Nodes)
		}
		srvKeyspace := must[*topodatapb.SrvKeyspace](t, "etcd2 GetSrvKeyspace")(vitessCell.GetSrvKeyspace(ctx, "test", "commerce"))
		if len(srvKeyspace.Partitions) != 3 || len(srvKeyspace.Partitions[0].ShardReferences) != 2 {
			t.Errorf("SrvKeyspace: got %v, want 3 partitions of -80 and 80-", srvKeyspace)
		}
		srvVSchema := must[*vschemapb.SrvVSchema](t, "etcd2 GetSrvVSchema")(vitessCell.GetSrvVSchema(ctx, "test"))
		equal(t, "SrvVSchema keyspace", srvVSchema.Keyspaces["commerce"], as(t, vschema, &vschemapb.Keyspace{}))
		equal(t, "SrvVSchema routing rules", srvVSchema.RoutingRules, as(t, rules, &vschemapb.RoutingRules{}))
		if _, ok := srvVSchema.Keyspaces["customer"]; !ok {
			t.Errorf("SrvVSchema: keyspace customer (no vschema) is missing: %v", srvVSchema)
		}
	})

	t.Run("records written by etcd2topo read back through the services", func(t *testing.T) {
		if err := vitessGlobal.CreateKeyspace(ctx, "legacy", &topodatapb.Keyspace{DurabilityPolicy: "semi_sync", SidecarDbName: "_vt"}); err != nil {
			t.Fatalf("etcd2 CreateKeyspace: %v", err)
		}
		for _, name := range []string{"-40", "40-", "x2"} {
			if err := vitessGlobal.CreateShard(ctx, "legacy", name); err != nil {
				t.Fatalf("etcd2 CreateShard %v: %v", name, err)
			}
		}
		primary := &topodatapb.TabletAlias{Cell: "test", Uid: 200}
		must[*topo.ShardInfo](t, "etcd2 UpdateShardFields")(vitessGlobal.UpdateShardFields(ctx, "legacy", "-40", func(si *topo.ShardInfo) error {
			si.PrimaryAlias = primary
			return nil
		}))
		vschema := &vschemapb.Keyspace{Sharded: true, Vindexes: map[string]*vschemapb.Vindex{"xxhash": {Type: "xxhash"}}}
		if err := vitessGlobal.SaveVSchema(ctx, &topo.KeyspaceVSchemaInfo{Name: "legacy", Keyspace: vschema}); err != nil {
			t.Fatalf("etcd2 SaveVSchema: %v", err)
		}
		tablet := &topodatapb.Tablet{Alias: primary, Hostname: "legacy-200", PortMap: map[string]int32{"grpc": 16999}, Keyspace: "legacy", Shard: "-40", Type: topodatapb.TabletType_PRIMARY}
		if err := vitessCell.CreateTablet(ctx, tablet); err != nil {
			t.Fatalf("etcd2 CreateTablet: %v", err)
		}
		srvKeyspace := &topodatapb.SrvKeyspace{Partitions: []*topodatapb.SrvKeyspace_KeyspacePartition{{ServedType: topodatapb.TabletType_PRIMARY, ShardReferences: []*topodatapb.ShardReference{{Name: "-40", KeyRange: &topodatapb.KeyRange{End: []byte{0x40}}}, {Name: "40-", KeyRange: &topodatapb.KeyRange{Start: []byte{0x40}}}}}}}
		if err := vitessCell.UpdateSrvKeyspace(ctx, "test", "legacy", srvKeyspace); err != nil {
			t.Fatalf("etcd2 UpdateSrvKeyspace: %v", err)
		}
		srvVSchema := &vschemapb.SrvVSchema{Keyspaces: map[string]*vschemapb.Keyspace{"legacy": vschema}, RoutingRules: &vschemapb.RoutingRules{}}
		if err := vitessCell.UpdateSrvVSchema(ctx, "test", srvVSchema); err != nil {
			t.Fatalf("etcd2 UpdateSrvVSchema: %v", err)
		}

		gotKs := must[*globalv1.GetKeyspaceResponse](t, "GetKeyspace")(api.global.GetKeyspace(ctx, &globalv1.GetKeyspaceRequest{Name: "legacy"}))
		equal(t, "keyspace", as(t, gotKs.GetKeyspace(), &topodatapb.Keyspace{}), &topodatapb.Keyspace{DurabilityPolicy: "semi_sync", SidecarDbName: "_vt"})
		shards := must[*globalv1.ListShardsResponse](t, "ListShards")(api.global.ListShards(ctx, &globalv1.ListShardsRequest{Keyspace: "legacy"}))
		if got := shards.GetNames(); len(got) != 3 || got[0] != "-40" || got[1] != "40-" || got[2] != "x2" {
			t.Errorf("ListShards: got %v, want [-40 40- x2]", got)
		}
		gotShard := must[*globalv1.GetShardResponse](t, "GetShard")(api.global.GetShard(ctx, &globalv1.GetShardRequest{Keyspace: "legacy", Name: "-40"}))
		vitessShard := must[*topo.ShardInfo](t, "etcd2 GetShard")(vitessGlobal.GetShard(ctx, "legacy", "-40"))
		equal(t, "shard", as(t, gotShard.GetShard(), &topodatapb.Shard{}), vitessShard.Shard)
		gotVSchema := must[*globalv1.GetVSchemaResponse](t, "GetVSchema")(api.global.GetVSchema(ctx, &globalv1.GetVSchemaRequest{Keyspace: "legacy"}))
		decoded := &vschemapb.Keyspace{}
		if err := proto.Unmarshal(gotVSchema.GetVschema(), decoded); err != nil {
			t.Fatalf("vschema bytes: %v", err)
		}
		equal(t, "vschema", decoded, vschema)

		gotTablet := must[*cellv1.GetTabletResponse](t, "GetTablet")(api.cell.GetTablet(ctx, &cellv1.GetTabletRequest{Alias: "test-0000000200"}))
		equal(t, "tablet", as(t, gotTablet.GetTablet(), &topodatapb.Tablet{}), tablet)
		graph := must[*cellv1.GetShardReplicationResponse](t, "GetShardReplication")(api.cell.GetShardReplication(ctx, &cellv1.GetShardReplicationRequest{Keyspace: "legacy", Shard: "-40"}))
		if nodes := graph.GetShardReplication().GetNodes(); len(nodes) != 1 || nodes[0].GetTabletAlias().GetUid() != 200 {
			t.Errorf("replication graph: got %v, want tablet 200", nodes)
		}
		gotSrvKeyspace := must[*cellv1.GetSrvKeyspaceResponse](t, "GetSrvKeyspace")(api.cell.GetSrvKeyspace(ctx, &cellv1.GetSrvKeyspaceRequest{Keyspace: "legacy"}))
		equal(t, "SrvKeyspace", as(t, gotSrvKeyspace.GetSrvKeyspace(), &topodatapb.SrvKeyspace{}), srvKeyspace)
		gotSrvVSchema := must[*cellv1.GetSrvVSchemaResponse](t, "GetSrvVSchema")(api.cell.GetSrvVSchema(ctx, &cellv1.GetSrvVSchemaRequest{}))
		decodedSrv := &vschemapb.SrvVSchema{}
		if err := proto.Unmarshal(gotSrvVSchema.GetSrvVschema(), decodedSrv); err != nil {
			t.Fatalf("SrvVSchema bytes: %v", err)
		}
		equal(t, "SrvVSchema", decodedSrv, srvVSchema)
	})
}
