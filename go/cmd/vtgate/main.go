//go:build vitess_e2e

// Command vtgate is Vitess's vtgate (vitess.io/vitess go/cmd/vtgate) with the grpc
// topology implementation linked in: run it with --topo-implementation grpc. Built with
// -tags vitess_e2e (make vitess-e2e): it links most of Vitess, too heavy for make test.
package main

import (
	"fmt"
	"os"

	"vitess.io/vitess/go/cmd/vtgate/cli"
	"vitess.io/vitess/go/vt/log"
	"vitess.io/vitess/go/vt/utils"

	_ "topo/go/grpctopo"
)

func main() {
	cli.Main.SetGlobalNormalizationFunc(utils.NormalizeUnderscoresToDashes)
	if err := cli.Main.Execute(); err != nil {
		log.Error(fmt.Sprint(err))
		os.Exit(1)
	}
}
