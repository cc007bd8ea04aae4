//go:build vitess_e2e

// Package e2e drives Vitess's own binaries against the services: vtctld and vtgate built
// with the grpc topology implementation linked in, and vtctldclient, through an
// operator's flow. Run with make vitess-e2e (it builds most of Vitess).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	cellv1 "topo/go/gen/topo/cell/v1"
	datav1 "topo/go/gen/topo/data/v1"
	globalv1 "topo/go/gen/topo/global/v1"
	vschemav1 "topo/go/gen/topo/vschema/v1"
	"topo/go/internal/stacktest"
)

// binaries builds vtctld and vtgate (this module's, with the plugin) and vtctldclient
// into a directory any user can read: Vitess's binaries refuse to run as root.
func binaries(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vitess-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"topo/go/cmd/vtctld", "topo/go/cmd/vtgate", "vitess.io/vitess/go/cmd/vtctldclient"} {
		build := exec.Command("go", "build", "-tags", "vitess_e2e", "-o", filepath.Join(dir, filepath.Base(pkg)), pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			t.Fatalf("go build %v: %v", pkg, err)
		}
	}
	return dir
}

// unprivileged runs a command as nobody when the test runs as root.
func unprivileged(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Getuid() != 0 {
		return exec.Command(name, args...)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("running as root and setpriv is missing to run Vitess as an unprivileged user: %v", err)
	}
	return exec.Command(setpriv, append([]string{"--reuid", "65534", "--regid", "65534", "--clear-groups", "--", name}, args...)...)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon starts a Vitess server and stops it when the test ends; its output goes to a
// log file shown when the test fails.
func daemon(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	log := filepath.Join(dir, name+".log")
	out, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := unprivileged(t, filepath.Join(dir, name), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		out.Close()
		if t.Failed() {
			data, _ := os.ReadFile(log)
			t.Logf("%v log (errors, then the end):\n%s\n...\n%s", name, errorLines(data), tail(data, 3000))
		}
	})
}

// errorLines are the lines of a log that report an error, flag errors included.
func errorLines(data []byte) string {
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.HasPrefix(line, "Error") || strings.Contains(line, "unknown flag") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

func tail(data []byte, n int) []byte {
	if len(data) > n {
		return data[len(data)-n:]
	}
	return data
}

// until polls fn until it succeeds or the deadline passes.
func until(t *testing.T, what string, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpGet(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return string(body), err
}

func TestVitessBinaries(t *testing.T) {
	dir := binaries(t)
	st := stacktest.StartStack(t, "etcd")
	topoFlags := []string{"--topo-implementation", "grpc", "--topo-global-server-address", st.GlobalAddr, "--topo-global-root", st.GlobalRoot}

	vtctldGrpc := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	daemon(t, dir, "vtctld", append(topoFlags,
		"--service-map", "grpc-vtctl,grpc-vtctld",
		"--backup-storage-implementation", "file", "--file-backup-storage-root", filepath.Join(dir, "backups"),
		"--port", fmt.Sprint(freePort(t)), "--grpc-port", strings.TrimPrefix(vtctldGrpc, "127.0.0.1:"), "--grpc-bind-address", "127.0.0.1",
	)...)
	vtctldclient := func(args ...string) (string, error) {
		cmd := unprivileged(t, filepath.Join(dir, "vtctldclient"), append([]string{"--server", vtctldGrpc}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil {
			return out.String(), fmt.Errorf("vtctldclient %v: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String(), nil
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := vtctldclient(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	until(t, "vtctld serving", 60*time.Second, func() error { _, err := vtctldclient("GetCellInfoNames"); return err })

	// Cells, keyspaces, shards (range-named and custom-named), vschema, routing rules.
	run("AddCellInfo", "--server-address", st.CellAddr, "--root", st.CellRoot, "test")
	run("AddCellsAlias", "--cells", "test", "region1")
	run("CreateKeyspace", "customer")
	run("CreateKeyspace", "custom")
	for _, shard := range []string{"customer/-80", "customer/80-", "custom/x1"} {
		run("CreateShard", shard)
	}
	run("ApplyVSchema", "--vschema", `{"sharded":true,"vindexes":{"hash":{"type":"hash"}},"tables":{"corder":{"column_vindexes":[{"column":"id","name":"hash"}]}}}`, "customer")
	run("ApplyRoutingRules", "--rules", `{"rules":[{"from_table":"orders","to_tables":["customer.corder"]}]}`)
	run("RebuildKeyspaceGraph", "customer", "custom")
	run("RebuildVSchemaGraph")
	if out := run("GetSrvVSchema", "test"); !strings.Contains(out, `"customer"`) || !strings.Contains(out, `"sharded": true`) {
		t.Errorf("GetSrvVSchema test: %s", out)
	}

	// The services read what vtctld wrote, and register tablets vtctld then lists.
	conn := func(addr string) *grpc.ClientConn {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	global := globalv1.NewGlobalTopoServiceClient(conn(st.GlobalAddr))
	cell := cellv1.NewCellTopoServiceClient(conn(st.CellAddr))
	ctx := t.Context()
	ks, err := global.GetKeyspace(ctx, &globalv1.GetKeyspaceRequest{Name: "customer"})
	if err != nil || ks.GetKeyspace().GetDurabilityPolicy() != "none" {
		t.Fatalf("GetKeyspace customer through the services: %v %v", ks, err)
	}
	vs, err := global.GetVSchema(ctx, &globalv1.GetVSchemaRequest{Keyspace: "customer"})
	if err != nil {
		t.Fatalf("GetVSchema: %v", err)
	}
	decoded := &vschemav1.Keyspace{}
	if err := proto.Unmarshal(vs.GetVschema(), decoded); err != nil || !decoded.GetSharded() {
		t.Fatalf("vtctld's vschema through the services: %v %v", decoded, err)
	}
	for uid, shard := range map[uint32]string{100: "-80", 110: "80-"} {
		tablet := &datav1.Tablet{Alias: &datav1.TabletAlias{Cell: "test", Uid: uid}, Hostname: "127.0.0.1", PortMap: map[string]int32{"grpc": int32(freePort(t)), "vt": int32(freePort(t))}, Keyspace: "customer", Shard: shard, Type: datav1.TabletType_PRIMARY, MysqlHostname: "127.0.0.1", MysqlPort: 3306}
		until(t, "RegisterTablet", 10*time.Second, func() error {
			_, err := cell.RegisterTablet(ctx, &cellv1.RegisterTabletRequest{Registration: &cellv1.Registration{Tablet: tablet, Session: fmt.Sprintf("e2e-%d", uid), Ttl: durationpb.New(60 * time.Second)}})
			return err
		})
	}
	if out := run("GetTablets", "--cell", "test"); !strings.Contains(out, "test-0000000100") || !strings.Contains(out, "test-0000000110") {
		t.Errorf("GetTablets --cell test: %s", out)
	}
	if out := run("GetTablets", "--keyspace", "customer", "--shard", "-80"); !strings.Contains(out, "test-0000000100") {
		t.Errorf("GetTablets customer/-80: %s", out)
	}

	// vtgate: the serving graph and the registered tablets.
	vtgateHTTP := freePort(t)
	daemon(t, dir, "vtgate", append(topoFlags,
		"--cell", "test", "--cells-to-watch", "test", "--service-map", "grpc-vtgateservice",
		"--port", fmt.Sprint(vtgateHTTP), "--grpc-port", fmt.Sprint(freePort(t)), "--grpc-bind-address", "127.0.0.1",
		"--mysql-server-port", fmt.Sprint(freePort(t)), "--mysql-server-bind-address", "127.0.0.1", "--mysql-auth-server-impl", "none",
		"--tablet-refresh-interval", "1s",
		// Wait for PRIMARY tablets, but not long: the registered tablets have no mysqld to answer health checks.
		"--tablet-types-to-wait", "PRIMARY", "--gateway-initial-tablet-timeout", "1s",
	)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", vtgateHTTP)
	until(t, "vtgate's vschema from the SrvVSchema", 60*time.Second, func() error {
		body, err := httpGet(base + "/debug/vschema")
		if err != nil {
			return err
		}
		if !strings.Contains(body, `"customer"`) || !strings.Contains(body, `"corder"`) {
			return fmt.Errorf("/debug/vschema: %s", tail([]byte(body), 2000))
		}
		return nil
	})
	until(t, "vtgate discovers the registered tablets", 60*time.Second, func() error {
		body, err := httpGet(base + "/debug/status")
		if err != nil {
			return err
		}
		if !strings.Contains(body, "test-0000000100") || !strings.Contains(body, "test-0000000110") {
			return fmt.Errorf("tablets not in /debug/status yet")
		}
		return nil
	})

	// Deletes through vtctld, seen by the services.
	run("DeleteShards", "--recursive", "--even-if-serving", "custom/x1")
	run("DeleteKeyspace", "--recursive", "custom")
	if _, err := global.GetKeyspace(context.Background(), &globalv1.GetKeyspaceRequest{Name: "custom"}); err == nil {
		t.Errorf("keyspace custom still exists after DeleteKeyspace")
	}
}
