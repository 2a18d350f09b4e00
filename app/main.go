// Command app is Twitch Event Viewer: `go run ./app` serves it; `export` and `trigger` are tools
// for streamers and operators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) /* -h: usage printed, not a failure */ {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

const usage = `Twitch Event Viewer

Usage:
  app                     serve the app (configured by environment variables, see README)
  app export  --broadcaster ID [--format csv|json] [--type TYPE]
                          write a channel's stored events (of one type) to stdout, newest first
  app trigger follow --url URL --secret SECRET [--broadcaster ID]
                          send a signed test channel.follow notification to a webhook callback
  app load --url URL --secret SECRET [--count N | --duration D] [--concurrency C] [--ceiling] [--check]
                          send many signed follows and report throughput and latency
  app fanout --url URL --secret SECRET [--viewers N] [--events M] [--missed K] [--pid PID]
                          open many dashboard streams on a demo app and report memory and delivery latency
`

// run is the whole program: main only supplies the process's context, arguments, environment
// and output, so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(ctx, getenv, stdout)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stdout)
	case "export":
		return exportCmd(ctx, args[1:], getenv, stdout, stderr)
	case "trigger":
		return triggerCmd(ctx, args[1:], getenv, stdout, stderr)
	case "load":
		return loadCmd(ctx, args[1:], getenv, stdout, stderr)
	case "fanout":
		return fanoutCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
