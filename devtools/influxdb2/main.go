// wattcast-influxd: InfluxDB 2 OSS (`influxd`) built from the upstream module for the test bed and
// the demo. The upstream cmd/influxd is a main package, so it cannot be imported; this main builds
// the same server command from its launcher, with the storage engine and index it registers.
// Only `influxd` (run) and `influxd version` are offered: the test bed needs nothing else.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/influxdata/influxdb/v2"
	"github.com/influxdata/influxdb/v2/cmd/influxd/launcher"
	_ "github.com/influxdata/influxdb/v2/tsdb/engine/tsm1"
	_ "github.com/influxdata/influxdb/v2/tsdb/index/tsi1"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// Set by the build script with -ldflags -X.
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	influxdb.SetBuildInfo(version, commit, time.Unix(0, 0).UTC().Format(time.RFC3339))
	command, err := launcher.NewInfluxdCommand(context.Background(), viper.New())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	command.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the influxd server version",
		Run: func(*cobra.Command, []string) {
			fmt.Printf("InfluxDB %s (git: %s)\n", version, commit)
		},
	})
	command.SilenceUsage = true
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
