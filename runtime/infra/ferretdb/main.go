// Command jetsaga-ferretdb runs FerretDB v1 embedded, with the SQLite backend, as the
// MongoDB-wire server for local development, tests and the demo when no mongod exists.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory for the SQLite data files (required)")
	logLevel := flag.String("log-level", "warn", "debug | info | warn | error")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "jetsaga-ferretdb: --dir is required (a directory for the SQLite files)")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "jetsaga-ferretdb: cannot create %s: %v\n", *dir, err)
		os.Exit(1)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "jetsaga-ferretdb: --log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "jetsaga-ferretdb: %v\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "jetsaga-ferretdb: listening on %s, data in %s\n", *listen, *dir)
	f.Run(ctx)
}
