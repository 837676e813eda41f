package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff"
)

// tickets lists tickets, or shows one with its transcript.
func tickets(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "queued, assigned, closed, or open (queued and assigned); empty = all")
	lane := fs.String("lane", "", "only this lane")
	asJSON := fs.Bool("json", false, "print JSON")
	show := len(args) > 0 && args[0] == "show"
	if show {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return err
	}
	defer a.Close()
	if show {
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: kefu tickets show ID", errUsage)
		}
		t, err := a.tickets.Ticket(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, t)
		}
		printTicket(stdout, t)
		return nil
	}
	f := handoff.Filter{Lane: *lane, Summary: true}
	switch *status {
	case "":
	case "open":
		f.Statuses = []handoff.Status{handoff.StatusQueued, handoff.StatusAssigned}
	case string(handoff.StatusQueued), string(handoff.StatusAssigned), string(handoff.StatusClosed):
		f.Statuses = []handoff.Status{handoff.Status(*status)}
	default:
		return fmt.Errorf("%w: -status must be queued, assigned, closed or open", errUsage)
	}
	list, err := a.tickets.Tickets(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, list)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tLANE\tREASON\tMERGED\tSLA DUE\tCREATED\tUSER")
	for _, t := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.ID, t.Status, t.Lane, strings.Join(t.Reasons, ","),
			t.Merged, t.SLADueAt.Local().Format("01-02 15:04"), t.CreatedAt.Local().Format("01-02 15:04"), t.OpenID)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d ticket(s)\n", len(list))
	return nil
}

func printTicket(w io.Writer, t handoff.Ticket) {
	fmt.Fprintf(w, "工单 %s  status=%s lane=%s reasons=%s merged=%d\n", t.ID, t.Status, t.Lane, strings.Join(t.Reasons, ","), t.Merged)
	fmt.Fprintf(w, "user=%s created=%s sla_due=%s evidence=%d\n\n", t.OpenID,
		t.CreatedAt.Local().Format(time.DateTime), t.SLADueAt.Local().Format(time.DateTime), len(t.Evidence))
	for _, m := range t.Messages {
		line := fmt.Sprintf("%s  %-6s %s", m.At.Local().Format("15:04:05"), m.From, m.Text)
		if m.Media != "" {
			line += "  <" + m.Media + ">"
		}
		fmt.Fprintln(w, line)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
