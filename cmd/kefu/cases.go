package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/cases/casesapi"
	"github.com/kefuhq/kefu/cases/casesweb"
	casesredis "github.com/kefuhq/kefu/cases/redisstore"
	casessqlite "github.com/kefuhq/kefu/cases/sqlitestore"
	"github.com/kefuhq/kefu/config"
)

// openCases opens the cases of the self-service flows: on Redis when rdb
// is set, else in the SQLite database db.
func (a *app) openCases(rdb *redis.Client, db *sql.DB) error {
	var store cases.Store
	if rdb != nil {
		store = casesredis.New(rdb, a.cfg.RedisPrefix)
	} else {
		s, err := casessqlite.New(db)
		if err != nil {
			return err
		}
		store = s
	}
	a.cases = cases.NewService(store, nil)
	return nil
}

// casesRoutes mounts the cases API on api (the group behind sign-in and
// auth.PermServe) and the cases page on r.
func (a *app) casesRoutes(api, r gin.IRouter) error {
	h, err := casesapi.New(casesapi.Options{Service: a.cases, Logger: a.log})
	if err != nil {
		return err
	}
	h.Register(api)
	casesweb.Register(r)
	return nil
}

// casesCommand lists cases, shows one, or sets a case's status:
//
//	kefu cases [-status S] [-flow F] [-user OPENID] [-limit N] [-json]
//	kefu cases show [-json] ID
//	kefu cases set [-by NAME] ID STATUS [note]
func casesCommand(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	return casesCmd(ctx, func() (*app, error) { return openApp(ctx, cfg, newLogger(cfg, io.Discard)) }, args, stdout, stderr)
}

// casesCmd is casesCommand on the app open returns.
func casesCmd(ctx context.Context, open func() (*app, error), args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 && (args[0] == "show" || args[0] == "set") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "only this status: submitted, processing, resolved or rejected")
	flow := fs.String("flow", "", "only this flow, e.g. fraud_report")
	user := fs.String("user", "", "only this user's cases (open_id)")
	limit := fs.Int("limit", cases.DefaultLimit, fmt.Sprintf("the most cases to list (up to %d)", cases.MaxLimit))
	asJSON := fs.Bool("json", false, "print JSON")
	by := fs.String("by", "cli", "who sets the status (kefu cases set)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case sub == "show" && fs.NArg() != 1:
		return fmt.Errorf("%w: kefu cases show ID", errUsage)
	case sub == "set" && (fs.NArg() < 2 || fs.NArg() > 3):
		return fmt.Errorf("%w: kefu cases set ID STATUS [note]", errUsage)
	case sub == "" && fs.NArg() != 0:
		return fmt.Errorf("%w: kefu cases [-status S] [-flow F] [-user OPENID]; unexpected %q", errUsage, fs.Arg(0))
	}
	a, err := open()
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "show":
		c, err := a.cases.Get(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, c)
		}
		printCase(stdout, c)
		return nil
	case "set":
		to := cases.Status(fs.Arg(1))
		if !to.Valid() {
			return fmt.Errorf("%w: STATUS must be submitted, processing, resolved or rejected, not %q", errUsage, to)
		}
		c, err := a.cases.SetStatus(ctx, fs.Arg(0), to, fs.Arg(2), *by)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "案件 %s: %s (%s)\n", c.ID, c.Status.Title(false), c.Status)
		return nil
	}
	list, err := a.cases.List(ctx, cases.Filter{Status: cases.Status(*status), Flow: *flow, OpenID: *user, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, list)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tFLOW\tTITLE\tTICKET\tCREATED\tUPDATED\tUSER")
	for _, c := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, c.Flow, c.Title, c.TicketID,
			c.CreatedAt.Local().Format("01-02 15:04"), c.UpdatedAt.Local().Format("01-02 15:04"), c.OpenID)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d case(s)\n", len(list))
	return nil
}

// printCase prints a case with its fields and history.
func printCase(w io.Writer, c cases.Case) {
	fmt.Fprintf(w, "案件 %s  %s (%s)  status=%s\n", c.ID, c.Title, c.Flow, c.Status)
	fmt.Fprintf(w, "user=%s created=%s updated=%s", c.OpenID, c.CreatedAt.Local().Format(time.DateTime),
		c.UpdatedAt.Local().Format(time.DateTime))
	if c.TicketID != "" {
		fmt.Fprintf(w, " ticket=%s", c.TicketID)
	}
	if c.ExternalID != "" {
		fmt.Fprintf(w, " external=%s", c.ExternalID)
	}
	fmt.Fprintln(w)
	for _, f := range c.Fields {
		fmt.Fprintf(w, "  %s: %s\n", f.Label, f.Value)
	}
	fmt.Fprintln(w)
	for _, h := range c.History {
		line := fmt.Sprintf("%s  %-10s %s", h.At.Local().Format(time.DateTime), h.Status, h.By)
		if h.Note != "" {
			line += "  " + strings.ReplaceAll(h.Note, "\n", " ")
		}
		fmt.Fprintln(w, line)
	}
}
