// Package intents decides what a user's message is: urgent, a request for
// a person, small talk, a question the knowledge base answers, a question
// beyond the service's boundary, or nothing the bot understands.
package intents

import (
	"context"
	"sync/atomic"
	"unicode/utf8"

	"github.com/kefuhq/kefu/kb"
)

// Kind is what a message was recognised as.
type Kind string

// Decision kinds, in routing order.
const (
	Urgent      Kind = "urgent"       // hand to a person in Decision.Lane now
	UserRequest Kind = "user_request" // the user asked for a person
	NotHelpful  Kind = "not_helpful"  // the user says the last answer did not help
	Greeting    Kind = "greeting"     // hello: introduce the bot
	Thanks      Kind = "thanks"       // thanks / ok: acknowledge (Decision.Rule says which)
	Boundary    Kind = "boundary"     // beyond the service: refer elsewhere (answered)
	Answer      Kind = "answer"       // a confident FAQ match
	StartFlow   Kind = "start_flow"   // a trigger phrase or menu key of a self-service flow
	Fallback    Kind = "fallback"     // nothing matched confidently: a failed turn
)

// The rules of a Thanks decision.
const (
	RuleThanks = "thanks" // the user thanked
	RuleAck    = "ack"    // the user acknowledged (嗯嗯, 好的, 算了)
)

// Decision is the outcome of routing one message.
type Decision struct {
	Kind Kind
	// Rule and Lane name the urgent rule that matched (Rule also tells
	// RuleThanks from RuleAck); Offer is what to do before queueing (e.g.
	// "emergency_freeze").
	Rule, Lane, Offer string
	// Article is the matched article for Answer and Boundary, and the best
	// (unconfident) candidate for Fallback, if any.
	Article *kb.Article
	// Score is the match confidence in [0,1] for Answer, Boundary and
	// Fallback.
	Score float64
	// English is set when the message is written in English.
	English bool
	// Flow is the self-service flow to start, for StartFlow.
	Flow string
}

// FlowTriggers finds the self-service flow a message or a menu key starts
// (implemented by intents/flows.Registry).
type FlowTriggers interface {
	// MatchTrigger looks for a trigger phrase in normalised text.
	MatchTrigger(norm string) (flow string, ok bool)
	// MenuFlow returns the flow a CLICK key starts.
	MenuFlow(key string) (flow string, ok bool)
}

// flowTriggers boxes a FlowTriggers for an atomic pointer.
type flowTriggers struct{ FlowTriggers }

// Options configure a Router.
type Options struct {
	Rules Rules
	// Threshold is the least kb score that counts as answered; 0 means
	// kb.DefaultThreshold.
	Threshold float64
	// UrgentThreshold is the least kb score at which an article with a
	// handoff lane sends the user to a person; 0 means Threshold. It may be
	// lower than Threshold: missing a stolen account costs more than an
	// agent's minute.
	UrgentThreshold float64
	// BoundaryMargin lets a boundary article win over a slightly better FAQ
	// match (the service boundary is checked before the FAQ).
	BoundaryMargin float64
	// Reranker, if set, re-orders the knowledge base's matches with
	// evidence the lexical index lacks (kb/semantic). Nil: lexical only.
	Reranker Reranker
}

// Reranker re-orders knowledge-base matches, best first, within ctx; on
// any trouble it returns the lexical matches (its first k).
type Reranker interface {
	Rerank(ctx context.Context, query string, lexical []kb.Match, k int) []kb.Match
}

// RerankCandidates is how many lexical matches a Reranker sees.
const RerankCandidates = 20

// Router routes messages. It is safe for concurrent use; SetIndex swaps the
// knowledge base while messages are being routed.
type Router struct {
	rules  *compiled
	index  atomic.Pointer[kb.Index]
	policy MatchPolicy
	rerank Reranker
	flows  atomic.Pointer[flowTriggers]
}

// SetFlows sets the self-service flows messages and menu keys may start
// (after urgent rules, requests for a person and small talk, before the
// FAQ); nil: none.
func (r *Router) SetFlows(ft FlowTriggers) {
	if ft == nil {
		r.flows.Store(nil)
		return
	}
	r.flows.Store(&flowTriggers{ft})
}

// NewRouter compiles the rules and serves answers from ix.
func NewRouter(opts Options, ix *kb.Index) (*Router, error) {
	c, err := compile(opts.Rules)
	if err != nil {
		return nil, err
	}
	r := &Router{rules: c, policy: NewMatchPolicy(opts.Threshold, opts.UrgentThreshold, opts.BoundaryMargin),
		rerank: opts.Reranker}
	r.index.Store(ix)
	return r, nil
}

// SetIndex replaces the knowledge base (after a publish).
func (r *Router) SetIndex(ix *kb.Index) { r.index.Store(ix) }

// Index returns the knowledge base in use.
func (r *Router) Index() *kb.Index { return r.index.Load() }

// Threshold returns the least score that counts as answered.
func (r *Router) Threshold() float64 { return r.policy.Threshold }

// CheckUrgent runs only the urgent rules. It is used in every state,
// including while queued, where nothing else is routed.
func (r *Router) CheckUrgent(text string) (Decision, bool) {
	return r.urgent(Normalize(text))
}

func (r *Router) urgent(norm string) (Decision, bool) {
	for _, u := range r.rules.urgent {
		if u.m.match(norm) {
			return Decision{Kind: Urgent, Rule: u.rule.Name, Lane: u.rule.Lane, Offer: u.rule.Offer,
				English: kb.DetectEnglish(norm)}, true
		}
	}
	return Decision{}, false
}

// Route decides what a message in the bot state is, in the order: urgent
// rules, an explicit request for a person, "did not help", small talk, the
// service boundary, the FAQ, and the fallback.
func (r *Router) Route(text string) Decision {
	return r.RouteContext(context.Background(), text)
}

// RouteContext is Route bounded by ctx: a Reranker gives up when ctx ends
// and the lexical matches decide.
func (r *Router) RouteContext(ctx context.Context, text string) Decision {
	norm := Normalize(text)
	if d, ok := r.urgent(norm); ok {
		return d
	}
	english := kb.DetectEnglish(norm)
	c := r.rules
	switch {
	case r.userRequest(norm):
		return Decision{Kind: UserRequest, English: english}
	case c.notHelpful.match(norm) && (c.notHelpfulMax <= 0 || utf8.RuneCountInString(norm) <= c.notHelpfulMax):
		return Decision{Kind: NotHelpful, English: english}
	case c.greeting.match(norm):
		return Decision{Kind: Greeting, English: english}
	case c.thanks.match(norm):
		return Decision{Kind: Thanks, Rule: RuleThanks, English: english}
	case c.ack.match(norm):
		return Decision{Kind: Thanks, Rule: RuleAck, English: english}
	}
	if ft := r.flows.Load(); ft != nil {
		if id, ok := ft.MatchTrigger(norm); ok {
			return Decision{Kind: StartFlow, Flow: id, English: english}
		}
	}
	d := r.MatchContext(ctx, text)
	d.English = english
	return d
}

// Match asks the knowledge base alone, without the rules: the FAQ part of
// Route, which kefu eval measures.
func (r *Router) Match(text string) Decision {
	return r.MatchContext(context.Background(), text)
}

// MatchContext is Match bounded by ctx (see RouteContext). An urgent
// handoff on weak evidence (below the answer threshold) is taken from the
// lexical matches only: a semantic near miss must not send users to a
// person.
func (r *Router) MatchContext(ctx context.Context, text string) Decision {
	ix := r.index.Load()
	if ix == nil {
		return Decision{Kind: Fallback}
	}
	if r.rerank == nil {
		return r.policy.Decide(ix.Search(text, MatchCandidates))
	}
	lexical := ix.Search(text, RerankCandidates)
	reranked := r.rerank.Rerank(ctx, text, lexical, MatchCandidates)
	matches := make([]kb.Match, 0, len(reranked))
	for _, m := range reranked { // resolve in this index: drops what was archived since
		if a, ok := ix.Article(m.Article.ID); ok {
			m.Article = a
			matches = append(matches, m)
		}
	}
	d := r.policy.Decide(matches)
	if d.Kind == Urgent && d.Article == nil {
		d = r.policy.Decide(lexical[:min(len(lexical), MatchCandidates)])
	}
	return d
}

// RouteKey routes a menu CLICK: a key naming a flow starts it, a key naming
// an article answers with it; any other key is routed like a question.
func (r *Router) RouteKey(key string) Decision {
	if ft := r.flows.Load(); ft != nil {
		if id, ok := ft.MenuFlow(key); ok {
			return Decision{Kind: StartFlow, Flow: id}
		}
	}
	if ix := r.index.Load(); ix != nil {
		if a, ok := ix.Article(key); ok {
			kind := Answer
			if a.Kind == kb.KindBoundary {
				kind = Boundary
			}
			return Decision{Kind: kind, Article: a, Score: 1}
		}
	}
	return r.Route(key)
}

// IsUserRequest reports whether the text asks for a person (used inside
// flows, where nothing else is routed).
func (r *Router) IsUserRequest(text string) bool { return r.userRequest(Normalize(text)) }

func (r *Router) userRequest(norm string) bool {
	c := r.rules
	return c.always.match(norm) || c.statement.match(norm) && !c.question.match(norm)
}

// IsQuestion reports whether the text reads as a question (怎么, 吗, ?…):
// inside a flow, a question is not the name the flow asked for.
func (r *Router) IsQuestion(text string) bool { return r.rules.question.match(Normalize(text)) }

// IsCancel reports whether a queued user wants to leave the queue.
func (r *Router) IsCancel(text string) bool { return r.rules.cancel.match(Normalize(text)) }

// IsQueueStatus reports whether a queued user asks for their position.
func (r *Router) IsQueueStatus(text string) bool {
	return r.rules.queueStatus.match(Normalize(text))
}
