// Package grpctopo is a Vitess topology implementation over the topo services'
// gRPC APIs: global-topo for the global cell, a cell's cell-topo for that cell. It
// implements topo.Conn and topo.Factory and registers itself as "grpc", so Vitess
// binaries built with it run with --topo_implementation grpc.
//
// Everything it does is a call to the services: paths in Vitess's forms go to the path
// API as they are, locks and elections to global-topo's lock and election RPCs, and
// every gRPC status comes back as the topo error it stands for. The root Vitess passes
// (--topo_global_root, a CellInfo's root) is a backend key prefix: the service's own
// root, or a directory inside it, which this Conn then serves, so the keys it reports
// are the backend's keys, exactly as etcd2topo reports them over the same etcd.
package grpctopo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"vitess.io/vitess/go/vt/topo"

	globalv1 "topo/go/gen/topo/global/v1"
	pathv1 "topo/go/gen/topo/path/v1"
)

// ImplementationName is the --topo_implementation value this package registers.
const ImplementationName = "grpc"

// connectTimeout bounds the call that learns the service's root when a Conn is created.
const connectTimeout = 10 * time.Second

func init() {
	topo.RegisterFactory(ImplementationName, Factory{})
}

// Factory creates Conns to the topo services. DialOptions, when set, gives the options
// every connection is dialled with (transport security among them); unset, connections
// are plaintext.
type Factory struct {
	DialOptions func() ([]grpc.DialOption, error)
}

// HasGlobalReadOnlyCell is part of the topo.Factory interface: global-topo has no
// read-only replicas.
func (f Factory) HasGlobalReadOnlyCell(serverAddr, root string) bool {
	return false
}

// Create is part of the topo.Factory interface. serverAddr is global-topo's address for
// the global cell, the cell-topo's for a cell (its CellInfo.server_address).
func (f Factory) Create(cell, serverAddr, root string) (topo.Conn, error) {
	options := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if f.DialOptions != nil {
		var err error
		if options, err = f.DialOptions(); err != nil {
			return nil, fmt.Errorf("grpctopo: dial options for %v: %w", serverAddr, err)
		}
	}
	return NewServer(cell, serverAddr, root, options...)
}

// Server is the topo.Conn of one cell (or the global cell) over one service.
type Server struct {
	cell string
	addr string
	// serviceRoot is the service's backend key prefix, e.g. "/vitess/global".
	serviceRoot string
	// dir is the directory this Conn serves, relative to the service's root: "" for the
	// service's own topology.
	dir string

	conn   *grpc.ClientConn
	path   pathv1.PathServiceClient
	global globalv1.GlobalTopoServiceClient
}

// NewServer connects to the service at serverAddr and serves root, which must be the
// service's root or a directory inside it.
func NewServer(cell, serverAddr, root string, options ...grpc.DialOption) (*Server, error) {
	conn, err := grpc.NewClient(serverAddr, options...)
	if err != nil {
		return nil, fmt.Errorf("grpctopo: cannot connect to %v: %w", serverAddr, err)
	}
	s := &Server{cell: cell, addr: serverAddr, conn: conn, path: pathv1.NewPathServiceClient(conn)}
	if cell == topo.GlobalCell {
		s.global = globalv1.NewGlobalTopoServiceClient(conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	described, err := s.path.GetRoot(ctx, &pathv1.GetRootRequest{}, grpc.WaitForReady(true))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("grpctopo: cannot reach the topology service at %v: %w", serverAddr, convertError(err, "/"))
	}
	s.serviceRoot = described.GetRoot()
	if s.dir, err = servedDir(s.serviceRoot, root); err != nil {
		conn.Close()
		return nil, fmt.Errorf("grpctopo: %v at %v: %w", cell, serverAddr, err)
	}
	return s, nil
}

// servedDir is root relative to the service's root, or an error when it is outside it.
func servedDir(serviceRoot, root string) (string, error) {
	clean := strings.TrimSuffix(root, "/")
	if clean == serviceRoot {
		return "", nil
	}
	if strings.HasPrefix(clean, serviceRoot+"/") {
		return strings.TrimPrefix(clean, serviceRoot+"/"), nil
	}
	return "", fmt.Errorf("root %q is not inside the service's root %q: give the service's root (or a directory inside it) as the topology root", root, serviceRoot)
}

// servicePath maps a path as Vitess passes it ("/MyFile", "/", "keyspaces/ks") to the
// path API's: inside the served directory, in a form the service maps as path.Join does.
func (s *Server) servicePath(p string) string {
	if s.dir == "" {
		return p
	}
	return s.dir + "/" + strings.TrimPrefix(p, "/")
}

// key is the backend key of a path relative to the service's root, as etcd2topo reports keys.
func (s *Server) key(relative string) string {
	return s.serviceRoot + "/" + relative
}

// Close is part of the topo.Conn interface.
func (s *Server) Close() {
	s.conn.Close()
}
