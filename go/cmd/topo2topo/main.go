// Command topo2topo is Vitess's topo2topo (vitess.io/vitess go/cmd/topo2topo) with the
// grpc topology implementation linked in, to copy a topology between an existing Vitess
// topology (etcd2, zk2, consul) and the topo services, either way.
package main

import (
	"fmt"
	"os"

	"vitess.io/vitess/go/cmd/topo2topo/cli"
	"vitess.io/vitess/go/exit"
	"vitess.io/vitess/go/vt/log"
	"vitess.io/vitess/go/vt/utils"

	_ "topo/go/grpctopo"
)

func main() {
	defer exit.RecoverAll()
	cli.Main.SetGlobalNormalizationFunc(utils.NormalizeUnderscoresToDashes)
	if err := cli.Main.Execute(); err != nil {
		log.Error(fmt.Sprintf("%s", err))
		os.Exit(1)
	}
}
