package main

import (
	"cmp"
	"context"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/handoff"
)

// autoAssign runs the auto-assigner (KEFU_AUTO_ASSIGN) until ctx ends.
// Every instance runs one; the store's atomic claim keeps a ticket from
// being assigned twice.
func (a *app) autoAssign(ctx context.Context) {
	as, err := handoff.NewAssigner(handoff.AssignerOptions{Service: a.handoff, Presence: a.presence,
		Agents: a.assignable, Logger: a.log})
	if err != nil {
		a.log.Error("auto-assign", "err", err)
		return
	}
	a.log.Info("auto-assign: on")
	as.Run(ctx)
}

// assignable returns the accounts that may be handed tickets: enabled,
// serving tickets (agents and admins), with a capacity. An admin serves
// every configured lane.
func (a *app) assignable(ctx context.Context) ([]handoff.Agent, error) {
	accounts, err := a.auth.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, l := range a.handoff.Lanes().All() {
		all = append(all, l.Name)
	}
	var out []handoff.Agent
	for _, acc := range accounts {
		if !acc.Can(auth.PermServe) || acc.Capacity <= 0 {
			continue
		}
		ag := handoff.Agent{ID: acc.ID, Name: cmp.Or(acc.Name, acc.Username), Lanes: acc.Lanes, Capacity: acc.Capacity}
		if acc.Can(auth.PermAllLanes) {
			ag.Lanes = all
		}
		out = append(out, ag)
	}
	return out, nil
}
