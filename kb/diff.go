package kb

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Change is one field that differs between two states of an article, for
// the editor to show.
type Change struct {
	// Field is the JSON name of the Article field, e.g. "answer".
	Field string `json:"field"`
	// Old and New are the field's values. For a list field (similar
	// questions, tags) they are set only when the lists hold the same items
	// in another order, as numbered lines ("1. …\n2. …"); Added and
	// Removed say the rest.
	// Fields that are neither text nor lists of text are shown as JSON.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Added and Removed are the items of a list field that only the new,
	// respectively only the old, state has, in their order there.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// DiffArticles returns the fields that differ between old and new, in the
// order Article declares them. Every field is compared, including ones
// added to Article later: text fields by value, lists of text as sets (then
// by order), anything else by its JSON form. A nil list equals an empty one.
func DiffArticles(old, new Article) []Change {
	var changes []Change
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	t := ov.Type()
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		if name == "" {
			continue
		}
		if c, ok := diffField(name, ov.Field(i), nv.Field(i)); ok {
			changes = append(changes, c)
		}
	}
	return changes
}

// jsonName returns the name a struct field has in JSON, or "" when it is
// not marshalled.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

func diffField(name string, o, n reflect.Value) (Change, bool) {
	switch {
	case o.Kind() == reflect.String:
		if o.String() == n.String() {
			return Change{}, false
		}
		return Change{Field: name, Old: o.String(), New: n.String()}, true
	case o.Kind() == reflect.Slice && o.Type().Elem().Kind() == reflect.String:
		ol, nl := stringList(o), stringList(n)
		if slices.Equal(ol, nl) {
			return Change{}, false
		}
		c := Change{Field: name, Added: missingFrom(nl, ol), Removed: missingFrom(ol, nl)}
		if len(c.Added) == 0 && len(c.Removed) == 0 {
			c.Old, c.New = numberedLines(ol), numberedLines(nl)
		}
		return c, true
	}
	if reflect.DeepEqual(o.Interface(), n.Interface()) {
		return Change{}, false
	}
	oj, nj := jsonText(o.Interface()), jsonText(n.Interface())
	if oj == nj {
		return Change{}, false
	}
	return Change{Field: name, Old: oj, New: nj}, true
}

// stringList returns the items of a slice of a string type.
func stringList(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

// missingFrom returns the items of a that b lacks, counting repeats: an
// item twice in a and once in b is missing once.
func missingFrom(a, b []string) []string {
	have := make(map[string]int, len(b))
	for _, s := range b {
		have[s]++
	}
	var out []string
	for _, s := range a {
		if have[s] > 0 {
			have[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// numberedLines writes a list one item a line, numbered from 1, so that a
// change of order reads as one.
func numberedLines(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d. %s", i+1, s)
	}
	return b.String()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
