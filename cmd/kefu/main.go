// Command kefu is the customer-service server for a WeChat Official
// Account, and its tools.
//
//	kefu serve      run the server (webhook, API, metrics)
//	kefu chat       talk to the bot in the terminal
//	kefu tickets    list tickets (kefu tickets show ID for one)
//	kefu cases      list the self-service cases, show one, set its status
//	kefu flows      list the self-service flows, check a definition file
//	kefu kb         the knowledge base offline (kefu kb for its commands)
//	kefu agent      accounts of the panel and the API: add, list, passwd
//	kefu config     print the effective configuration, secrets masked
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kefuhq/kefu/config"
)

const usage = `kefu — customer service for a WeChat Official Account

Usage:
  kefu serve                 run the server (GET/POST /wechat, /healthz, /readyz, /metrics)
  kefu chat [-user ID]       talk to the bot in the terminal, on the same store
  kefu tickets [flags]       list tickets (-status queued|assigned|closed|open, -lane L, -json)
  kefu tickets show ID       one ticket with its transcript
  kefu cases [flags]         list cases (-status submitted|processing|resolved|rejected, -flow F, -user OPENID, -json)
  kefu cases show ID         one case with its fields and history
  kefu cases set [-by NAME] ID STATUS [note]
                             set a case's status, with a note
  kefu flows list            the self-service flows: id, title, lane, menu keys, triggers, source
  kefu flows check FILE…     validate flow definitions (YAML or JSON); errors name the file, flow and step
  kefu kb list|history|export|import|publish|rollback
                             the knowledge base offline: versions, import/export JSON and CSV
  kefu agent add -username U [-role R] [-name N] [-lanes a,b] [-capacity N] [-password-file F]
                             create an account (password: first line of stdin or F)
  kefu agent list [-json]    the accounts
  kefu agent passwd U        set U's password (stdin or -password-file) and end its sessions
  kefu config                print the effective configuration, secrets masked
  kefu eval -data DIR [-split dev|test] [-threshold X | -tune]
                             measure the matcher on a labelled data set
  kefu help                  this text and every setting

Settings come from kefu.yaml (or the file named by KEFU_CONFIG) and KEFU_* variables.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kefu:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run is main without the process: tests call it with their own arguments,
// streams and environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: a command is required", errUsage)
	}
	cmd, rest := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage, "\nSettings:\n", config.Usage())
		return nil
	}
	if cmd == "eval" { // offline: needs no configuration
		return eval(rest, stdout, stderr)
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, stderr)
	case "chat":
		return chat(ctx, cfg, rest, stdin, stdout, stderr)
	case "tickets":
		return tickets(ctx, cfg, rest, stdout, stderr)
	case "cases":
		return casesCommand(ctx, cfg, rest, stdout, stderr)
	case "flows":
		return flowsCommand(cfg, rest, stdout, stderr)
	case "kb":
		return kbCommand(ctx, cfg, rest, stdin, stdout, stderr)
	case "agent":
		return agentCmd(ctx, cfg, rest, stdin, stdout, stderr)
	case "config":
		fmt.Fprint(stdout, cfg.Dump())
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func loadConfig(environ []string) (*config.Config, error) {
	path, explicit := "kefu.yaml", false
	for _, kv := range environ {
		if v, ok := cutPrefix(kv, "KEFU_CONFIG="); ok && v != "" {
			path, explicit = v, true
		}
	}
	return config.Load(path, explicit, environ)
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
