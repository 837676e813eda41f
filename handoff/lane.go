package handoff

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnknownLane is returned for a lane name that is not configured.
var ErrUnknownLane = errors.New("handoff: unknown lane")

// Lane is a priority queue of tickets with its SLA: the time by which an
// agent must first reply.
type Lane struct {
	Name    string        `yaml:"name" json:"name"`
	Title   string        `yaml:"title" json:"title"`       // shown to Chinese-speaking users
	TitleEN string        `yaml:"title_en" json:"title_en"` // shown to English-speaking users
	SLA     time.Duration `yaml:"sla" json:"sla"`
	Order   int           `yaml:"order" json:"order"` // lower is served first
}

// The lanes every installation has (they may be re-configured, not removed).
const (
	LaneEmergency = "emergency"
	LaneMinor     = "minor"
	LaneCare      = "care"
	LaneOverseas  = "overseas"
	LaneNormal    = "normal"
)

// DefaultLanes are the lanes of DESIGN.md §3, from the seed.
func DefaultLanes() []Lane {
	return []Lane{
		{Name: LaneEmergency, Title: "紧急通道", TitleEN: "emergency lane", SLA: 15 * time.Minute, Order: 1},
		{Name: LaneMinor, Title: "未成年人专项通道", TitleEN: "minor-protection lane", SLA: 6 * time.Hour, Order: 2},
		{Name: "enterprise", Title: "企业服务通道", TitleEN: "business lane", SLA: 4 * time.Hour, Order: 3},
		{Name: LaneCare, Title: "关怀服务通道", TitleEN: "care lane", SLA: 8 * time.Hour, Order: 3},
		{Name: LaneOverseas, Title: "海外服务通道", TitleEN: "overseas lane", SLA: 72 * time.Hour, Order: 4},
		{Name: LaneNormal, Title: "普通队列", TitleEN: "standard queue", SLA: 24 * time.Hour, Order: 5},
	}
}

// Lanes is a validated set of lanes.
type Lanes struct {
	byName map[string]Lane
	list   []Lane
}

// NewLanes validates lanes: unique non-empty names, positive SLAs, and the
// lanes the bot routes to (emergency, minor, care, overseas, normal) present.
func NewLanes(lanes []Lane) (Lanes, error) {
	ls := Lanes{byName: make(map[string]Lane, len(lanes))}
	for i, l := range lanes {
		if l.Name == "" || l.SLA <= 0 {
			return Lanes{}, fmt.Errorf("handoff: lane %d: a name and a positive sla are required", i+1)
		}
		if _, dup := ls.byName[l.Name]; dup {
			return Lanes{}, fmt.Errorf("handoff: lane %q configured twice", l.Name)
		}
		if l.Title == "" {
			l.Title = l.Name
		}
		if l.TitleEN == "" {
			l.TitleEN = l.Name
		}
		ls.byName[l.Name] = l
		ls.list = append(ls.list, l)
	}
	for _, need := range []string{LaneEmergency, LaneMinor, LaneCare, LaneOverseas, LaneNormal} {
		if _, ok := ls.byName[need]; !ok {
			return Lanes{}, fmt.Errorf("handoff: lane %q is required", need)
		}
	}
	return ls, nil
}

// Lane returns the lane with this name.
func (ls Lanes) Lane(name string) (Lane, error) {
	l, ok := ls.byName[name]
	if !ok {
		return Lane{}, fmt.Errorf("%w: %q", ErrUnknownLane, name)
	}
	return l, nil
}

// All returns the lanes in configuration order.
func (ls Lanes) All() []Lane { return append([]Lane(nil), ls.list...) }

// Before reports whether lane a is served before lane b.
func (ls Lanes) Before(a, b string) bool {
	return ls.byName[a].Order < ls.byName[b].Order
}

// Names returns the lanes' names, in configuration order.
func (ls Lanes) Names() []string {
	names := make([]string, len(ls.list))
	for i, l := range ls.list {
		names[i] = l.Name
	}
	return names
}
