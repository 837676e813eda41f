package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff"
)

// agentUsage lists the agent subcommands.
const agentUsage = `kefu agent add -username U [-role agent|editor|admin] [-name N] [-lanes a,b] [-capacity N] [-password-file F]
kefu agent list [-json]
kefu agent passwd U [-password-file F]
The password is the first line of -password-file, or of standard input.`

// agentCmd manages accounts on the configured store: add, list, passwd.
func agentCmd(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	open := func() (*app, error) { return newApp(ctx, cfg, newLogger(cfg, io.Discard)) }
	return agentCommand(ctx, open, args, stdin, stdout, stderr)
}

// agentCommand is agentCmd on the app that open returns, opened once the
// arguments are checked.
func agentCommand(ctx context.Context, open func() (*app, error), args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, agentUsage)
		return fmt.Errorf("%w: kefu agent add|list|passwd", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	passwordFile := fs.String("password-file", "", "read the password from the first line of this file instead of standard input")
	// check validates the arguments before the store is opened; run does
	// the work.
	check := func() error { return nil }
	var run func(a *app) error
	switch sub {
	case "add":
		var n auth.NewAccount
		fs.StringVar(&n.Username, "username", "", "username to sign in with (required)")
		role := fs.String("role", string(auth.RoleAgent), "agent, editor or admin")
		fs.StringVar(&n.Name, "name", "", "name shown in the panel (default: the username)")
		lanes := fs.String("lanes", "", "comma-separated lanes the agent serves, e.g. emergency,normal")
		fs.IntVar(&n.Capacity, "capacity", 0, fmt.Sprintf("most sessions at once (default %d)", auth.DefaultCapacity))
		check = func() error {
			if n.Username == "" {
				return fmt.Errorf("%w: kefu agent add -username U", errUsage)
			}
			return nil
		}
		run = func(a *app) error {
			n.Role = auth.Role(*role)
			if *lanes != "" {
				n.Lanes = strings.Split(*lanes, ",")
			}
			var err error
			if n.Password, err = readPassword(stdin, stderr, *passwordFile); err != nil {
				return err
			}
			acct, err := a.auth.CreateAccount(ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %s %s (%s)\n", acct.Role, acct.Username, acct.ID)
			return nil
		}
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		run = func(a *app) error {
			list, err := a.auth.Accounts(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(stdout, list)
			}
			return printAccounts(stdout, list)
		}
	case "passwd":
		// The username may come before the flags.
		var username string
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			username, args = args[0], args[1:]
		}
		check = func() error {
			if username == "" && fs.NArg() == 1 {
				username = fs.Arg(0)
			}
			if username == "" {
				return fmt.Errorf("%w: kefu agent passwd U", errUsage)
			}
			return nil
		}
		run = func(a *app) error {
			acct, err := a.auth.AccountByUsername(ctx, username)
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("no account named %q", username)
			}
			if err != nil {
				return err
			}
			pw, err := readPassword(stdin, stderr, *passwordFile)
			if err != nil {
				return err
			}
			if _, err := a.auth.UpdateAccount(ctx, acct.ID, auth.Patch{Password: &pw}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s changed; its sessions are ended\n", acct.Username)
			return nil
		}
	default:
		fmt.Fprintln(stderr, agentUsage)
		return fmt.Errorf("%w: unknown agent command %q", errUsage, sub)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := check(); err != nil {
		return err
	}
	a, err := open()
	if err != nil {
		return err
	}
	defer a.Close()
	return run(a)
}

// readPassword returns the first line of the file, or of stdin (with a
// prompt when stdin is a terminal).
func readPassword(stdin io.Reader, stderr io.Writer, file string) (string, error) {
	src, name := stdin, "standard input"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		src, name = f, file
	} else if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Password (shown as typed): ")
		}
	}
	line, err := bufio.NewReader(src).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from %s: %w", name, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("no password on %s", name)
	}
	return line, nil
}

func printAccounts(w io.Writer, list []auth.Account) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tLANES\tCAPACITY\tSTATUS\tID\tCREATED")
	for _, a := range list {
		status := "active"
		if a.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.Username, a.Role, a.Name, strings.Join(a.Lanes, ","),
			a.Capacity, status, a.ID, a.CreatedAt.Local().Format("2006-01-02 15:04"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d account(s)\n", len(list))
	return nil
}

// ensureAdmin creates the first admin from KEFU_ADMIN_PASSWORD, once, and
// warns when nobody could sign in.
func (a *app) ensureAdmin(ctx context.Context) error {
	if a.cfg.AdminPassword == "" {
		list, err := a.auth.Accounts(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			a.log.Warn("no accounts: set KEFU_ADMIN_PASSWORD or run kefu agent add to sign in to the API")
		}
		return nil
	}
	created, err := a.auth.EnsureAdmin(ctx, a.cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("KEFU_ADMIN_PASSWORD: %w", err)
	}
	if created {
		a.log.Info("created the admin account", "username", auth.AdminUsername)
	}
	return nil
}

// validLane returns auth's check of an agent's lanes: the configured ones.
func validLane(lanes handoff.Lanes) func(string) bool {
	return func(l string) bool { _, err := lanes.Lane(l); return err == nil }
}
