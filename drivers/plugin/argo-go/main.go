// Command argo-go serves Argo Workflows' own S3, GCS and Azure artifact drivers over Argo's
// artifact plugin gRPC protocol, and drives a plugin with Argo's own plugin client, so the kit
// can check both sides of the wire against the real Argo code (module version in go.mod).
//
//	argo-go SOCKET                 serve, exactly as Argo starts a plugin
//	argo-go client SOCKET --configuration FILE --key-prefix PREFIX --workdir DIR
//	        [--plugin-name NAME] [--timeout-seconds N]
//	argo-go version                the Argo module version built in
//
// Logs go to stderr only (level: ARGO_GO_LOG_LEVEL, default info); client mode prints its
// JSON report on stdout.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/argoproj/argo-workflows/v4/util/logging"
)

const argoModule = "github.com/argoproj/argo-workflows/v4"

const usage = `usage:
  argo-go SOCKET
  argo-go client SOCKET --configuration FILE --key-prefix PREFIX --workdir DIR [--plugin-name NAME] [--timeout-seconds N]
  argo-go version
`

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 1 && args[0] == "version":
		fmt.Println(argoVersion())
	case len(args) >= 1 && args[0] == "client":
		os.Exit(runClient(args[1:]))
	case len(args) == 1 && args[0] != "" && args[0][0] != '-':
		os.Exit(serve(args[0]))
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}

// argoVersion is the Argo module version linked into this binary, read from the build info
// so it cannot drift from go.mod.
func argoVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == argoModule {
				if dep.Replace != nil {
					return dep.Replace.Version
				}
				return dep.Version
			}
		}
	}
	return "unknown"
}

// loggerContext carries the logger every Argo driver requires from its context
// (logging.RequireLoggerFromContext panics without one); it writes to stderr only.
func loggerContext(ctx context.Context) context.Context {
	level, err := logging.ParseLevelOr(os.Getenv("ARGO_GO_LOG_LEVEL"), logging.Info)
	if err != nil {
		level = logging.Info
	}
	return logging.WithLogger(ctx, logging.NewSlogLogger(level, logging.Text))
}
