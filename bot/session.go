package bot

import (
	"fmt"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents/flows"
)

// State is where a user's conversation is (DESIGN.md §2).
type State string

// Session states. A new session starts in StateBot.
const (
	StateBot    State = "bot"    // the bot answers
	StateFlow   State = "flow"   // a self-service flow is running
	StateQueued State = "queued" // waiting for a person; the bot is silent
	StateAgent  State = "agent"  // a person is talking; the bot is silent
	StateClosed State = "closed" // the ticket was closed; next message returns to the bot
)

// transitions lists the allowed moves between states. Staying in the same
// state is always allowed.
var transitions = map[State][]State{
	StateBot:    {StateFlow, StateQueued},
	StateFlow:   {StateBot, StateQueued},
	StateQueued: {StateAgent, StateClosed, StateBot},
	StateAgent:  {StateQueued, StateClosed},
	StateClosed: {StateBot, StateQueued, StateFlow},
}

// CanMove reports whether a session may move from one state to another.
func CanMove(from, to State) bool {
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Session is one user's conversation state. It is saved with
// compare-and-swap on Version.
type Session struct {
	OpenID string `json:"open_id"`
	State  State  `json:"state"`
	// Version is the stored version this copy was read at; 0 for a session
	// never saved.
	Version int64 `json:"version"`
	// FailedTurns counts consecutive failed turns (no confident match, or
	// the user said the answer did not help).
	FailedTurns int `json:"failed_turns"`
	// LastArticleID is the article the bot answered with last, so "没用"
	// can be tied to it.
	LastArticleID string `json:"last_article_id,omitempty"`
	// TicketID is the open ticket while queued or with an agent.
	TicketID string `json:"ticket_id,omitempty"`
	// English is set when the user's last text was in English.
	English bool `json:"english,omitempty"`
	// Voice is set once the user sends voice messages: such users are
	// served in the care lane (DESIGN.md §3).
	Voice bool `json:"voice,omitempty"`
	// History is the recent conversation with the bot, newest last, capped
	// at HistoryLimit; it becomes the ticket's transcript on handoff.
	History []handoff.Message `json:"history,omitempty"`
	// Flow is the running self-service flow, in StateFlow.
	Flow      *flows.State `json:"flow,omitempty"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// HistoryLimit caps Session.History.
const HistoryLimit = 24

// Move changes the state, refusing a move the transition table forbids.
func (s *Session) Move(to State) error {
	if !CanMove(s.State, to) {
		return fmt.Errorf("bot: session %s: %w: %s → %s", s.OpenID, ErrIllegalMove, s.State, to)
	}
	s.State = to
	return nil
}

// Remember appends messages to the history, dropping the oldest beyond
// HistoryLimit.
func (s *Session) Remember(msgs ...handoff.Message) {
	s.History = append(s.History, msgs...)
	if n := len(s.History) - HistoryLimit; n > 0 {
		s.History = append(s.History[:0], s.History[n:]...)
	}
}

// sessionSummary is the part of a Session that a step changes besides its
// history, to tell whether it needs saving.
type sessionSummary struct {
	state         State
	failedTurns   int
	lastArticleID string
	ticketID      string
	english       bool
	voice         bool
	historyLen    int
}

func (s *Session) summary() sessionSummary {
	return sessionSummary{s.State, s.FailedTurns, s.LastArticleID, s.TicketID, s.English, s.Voice, len(s.History)}
}
