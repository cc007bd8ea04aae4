// Package stacktest starts the services for Go tests as they are deployed: the project's
// own processes, from their TypeScript entry points on the project's Node (the
// repository's node_modules), with etcd started by deploy/etcd, the one way the project
// starts etcd.
package stacktest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const startTimeout = 60 * time.Second

// RepoRoot is the repository holding this module (go/ sits at its top).
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for filepath.Base(root) != "go" || !exists(filepath.Join(root, "go.mod")) {
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("%v is not inside the repository's go/ module", wd)
		}
		root = parent
	}
	root = filepath.Dir(root)
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "node")); err != nil {
		t.Fatalf("the project's Node is missing under %v (run npm ci there): %v", root, err)
	}
	return root
}

// startNode runs a TypeScript entry point of the repository and returns its stdout lines;
// the process is stopped with SIGTERM (and waited for) when the test ends, and dies with
// the test binary if that is killed.
func startNode(t testing.TB, entry string, args ...string) <-chan string {
	t.Helper()
	root := RepoRoot(t)
	cmd := exec.Command(filepath.Join(root, "node_modules", ".bin", "node"), append([]string{"-r", "ts-node/register/transpile-only", entry}, args...)...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", entry, err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			select {
			case lines <- scanner.Text():
			default:
				// Nobody reads logs once the process is up; drop them rather than block it.
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return lines
}

// waitForLine returns the first JSON line that match accepts.
func waitForLine(t testing.TB, what string, lines <-chan string, match func(line map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(startTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("%v exited before it was ready", what)
			}
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && match(entry) {
				return entry
			}
		case <-timeout:
			t.Fatalf("%v was not ready within %v", what, startTimeout)
		}
	}
}

// StartEtcd starts a one-member etcd cluster and returns its client endpoints.
func StartEtcd(t testing.TB) []string {
	t.Helper()
	lines := startNode(t, "deploy/etcd/cli.ts")
	entry := waitForLine(t, "etcd", lines, func(line map[string]any) bool { _, ok := line["endpoints"]; return ok })
	var endpoints []string
	for _, e := range entry["endpoints"].([]any) {
		endpoints = append(endpoints, e.(string))
	}
	return endpoints
}

// startService starts global-topo or cell-topo on a free loopback port and returns its address.
func startService(t testing.TB, service string, args ...string) string {
	t.Helper()
	lines := startNode(t, filepath.Join("services", service, "main.ts"), append([]string{"--listen", "127.0.0.1:0", "--log-level", "info"}, args...)...)
	entry := waitForLine(t, service, lines, func(line map[string]any) bool { return line["msg"] == "serving" && line["port"] != nil })
	return fmt.Sprintf("127.0.0.1:%v", entry["port"])
}

// Stack is one global-topo and one cell-topo (cell "test"), each over its own store.
type Stack struct {
	GlobalAddr, GlobalRoot string
	CellAddr, CellRoot     string
	// GlobalEtcd and CellEtcd are the etcd endpoints of an etcd stack, nil on memory.
	GlobalEtcd, CellEtcd []string
}

// StartStack starts the services over the memory backend or over etcd (one etcd for the
// global topology, one for the cell, as deployed).
func StartStack(t testing.TB, backend string) Stack {
	t.Helper()
	st := Stack{GlobalRoot: "/topo/global", CellRoot: "/topo/test"}
	globalStore := []string{"--backend", "memory"}
	cellStore := []string{"--backend", "memory"}
	if backend == "etcd" {
		st.GlobalEtcd = StartEtcd(t)
		st.CellEtcd = StartEtcd(t)
		globalStore = []string{"--backend", "etcd", "--etcd-endpoints", strings.Join(st.GlobalEtcd, ",")}
		cellStore = []string{"--backend", "etcd", "--etcd-endpoints", strings.Join(st.CellEtcd, ",")}
	}
	st.GlobalAddr = startService(t, "global-topo", append(globalStore, "--root", st.GlobalRoot)...)
	st.CellAddr = startService(t, "cell-topo", append(cellStore, "--root", st.CellRoot, "--cell", "test", "--global-topo", st.GlobalAddr)...)
	return st
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
