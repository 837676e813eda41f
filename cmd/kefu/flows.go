package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents/flows"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbapi"
)

// openFlows builds the runner of the flow definitions openEditor loaded,
// over the cases service: the business backend of KEFU_FLOW_ACTIONS, or,
// for actions without a URL, kefu recording the submission as a case.
func (a *app) openFlows() error {
	cfg := a.cfg
	reg := a.flowReg.Load() // loaded by openEditor
	urls, err := flows.ParseActionURLs(cfg.FlowActions)
	if err != nil {
		return fmt.Errorf("%w: KEFU_FLOW_ACTIONS: %v", config.ErrInvalid, err)
	}
	var backend flows.Backend = flows.Recorder{}
	if len(urls) > 0 {
		backend = &flows.HTTPBackend{URLs: urls, Secret: cfg.FlowSecret, Timeout: cfg.FlowActionTimeout}
	}
	missing := unbackedActions(reg, urls)
	if len(missing) > 0 {
		a.log.Info("flows: no business backend for these actions: kefu records each submission as a case for agents (set KEFU_FLOW_ACTIONS)",
			"actions", missing)
	}
	a.flows, err = flows.NewRunner(reg, flows.Options{Backend: backend, Cases: a.cases, Idle: cfg.FlowIdle,
		Logger: a.log})
	if err != nil {
		return err
	}
	a.router.SetFlows(reg)
	a.log.Info("flows loaded", "flows", reg.Len(), "dir", cfg.FlowsDir)
	return nil
}

// unbackedActions lists the actions of reg that no URL serves.
func unbackedActions(reg *flows.Registry, urls map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range reg.List() {
		for _, s := range f.Steps {
			if s.Kind != flows.KindAction || s.Action == flows.ActionCaseStatus || seen[s.Action] || urls[s.Action] != "" {
				continue
			}
			seen[s.Action] = true
			out = append(out, s.Action)
		}
	}
	return out
}

// reloadFlows reads the definitions again; a bad file keeps the flows in
// use and is reported.
func (a *app) reloadFlows() error {
	reg, err := flows.Load(a.cfg.FlowsDir, a.lanes.Names())
	if err != nil {
		return err
	}
	a.flowReg.Store(reg)
	a.flows.SetRegistry(reg)
	a.router.SetFlows(reg)
	a.log.Info("flows reloaded", "flows", reg.Len())
	return nil
}

// reloadFlowsOnHUP reloads the flows on every SIGHUP until ctx ends.
func (a *app) reloadFlowsOnHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := a.reloadFlows(); err != nil {
					a.log.Error("flows not reloaded: the previous definitions stay in use", "err", err)
				}
			}
		}
	}()
}

// flowsCommand is `kefu flows list` and `kefu flows check FILE…`.
func flowsCommand(cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: kefu flows list | kefu flows check FILE…", errUsage)
	}
	lanes, err := handoff.NewLanes(mergeLanes(handoff.DefaultLanes(), cfg.Lanes))
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("flows list", flag.ContinueOnError)
		fs.SetOutput(stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		reg, err := flows.Load(cfg.FlowsDir, lanes.Names())
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tTITLE\tLANE\tSTEPS\tMENU KEYS\tTRIGGERS\tSOURCE")
		for _, f := range reg.List() {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", f.ID, f.Title, f.Lane, len(f.Steps),
				join(f.MenuKeys), join(f.Triggers), f.Source)
		}
		return w.Flush()
	case "check":
		if len(args) < 2 {
			return fmt.Errorf("%w: kefu flows check FILE…", errUsage)
		}
		var failed error
		for _, name := range args[1:] {
			list, err := flows.ParseFile(name, lanes.Names())
			if err != nil {
				fmt.Fprintln(stderr, err)
				failed = errors.Join(failed, err)
				continue
			}
			for _, f := range list {
				fmt.Fprintf(stdout, "%s: flow %s (%s): %d steps, ok\n", name, f.ID, f.Title, len(f.Steps))
			}
		}
		if failed != nil {
			return errors.New("flows: some definitions are invalid")
		}
		return nil
	}
	return fmt.Errorf("%w: unknown flows command %q (list, check)", errUsage, args[0])
}

func join(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	out := ss[0]
	for _, s := range ss[1:] {
		out += "," + s
	}
	return out
}

// expireIdleFlowsLimit bounds the flows one sweep ends; the rest wait for
// the next sweep.
const expireIdleFlowsLimit = 500

// expireIdleFlows ends the flows left idle past KEFU_FLOW_IDLE and tells
// their users (run by the sweep).
func (a *app) expireIdleFlows(ctx context.Context) {
	n, err := a.engine.ExpireIdleFlows(ctx, expireIdleFlowsLimit)
	if err != nil {
		a.log.Error("flows: expire idle flows", "err", err)
	}
	if n > 0 {
		a.log.Info("flows: idle flows expired", "flows", n)
	}
}

// articleRefs checks that an article names a configured lane and an
// existing flow: one that names others would fail its users.
func articleRefs(lanes handoff.Lanes, registry func() *flows.Registry) func(kb.Article) error {
	return func(a kb.Article) error {
		if a.Handoff != "" {
			if _, err := lanes.Lane(a.Handoff); err != nil {
				return kb.Invalidf("文章 %s：转人工队列 %q 未配置，可用的队列：%s (handoff lane %[2]q is not configured)",
					a.ID, a.Handoff, strings.Join(lanes.Names(), ", "))
			}
		}
		if a.Flow != "" {
			reg := registry()
			if _, ok := reg.Flow(a.Flow); !ok {
				var ids []string
				for _, f := range reg.List() {
					ids = append(ids, f.ID)
				}
				return kb.Invalidf("文章 %s：流程 %q 不存在，现有的流程：%s (flow %[2]q does not exist)", a.ID, a.Flow, strings.Join(ids, ", "))
			}
		}
		return nil
	}
}

// articleChoices lists the configured lanes and the flows in use, which
// the editor's page offers for an article's handoff lane and flow.
func (a *app) articleChoices() kbapi.Choices {
	out := kbapi.Choices{Lanes: []kbapi.Choice{}, Flows: []kbapi.Choice{}}
	for _, l := range a.lanes.All() {
		out.Lanes = append(out.Lanes, kbapi.Choice{Name: l.Name, Title: l.Title})
	}
	for _, f := range a.flowReg.Load().List() {
		out.Flows = append(out.Flows, kbapi.Choice{Name: f.ID, Title: f.Title})
	}
	return out
}
