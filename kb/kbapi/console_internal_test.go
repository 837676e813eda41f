package kbapi

import (
	"testing"

	"github.com/kefuhq/kefu/kb"
)

// TestDraftIndex: the draft index is built once per state of the drafts,
// and leaves archived articles out.
func TestDraftIndex(t *testing.T) {
	heads := []kb.Head{
		{Article: kb.Article{ID: "a", Question: "怎么改密码", Answer: "设置里改", Kind: kb.KindFAQ, Status: kb.StatusDraft}, Latest: 1},
		{Article: kb.Article{ID: "b", Question: "怎么注销", Answer: "设置里注销", Kind: kb.KindFAQ, Status: kb.StatusArchived}, Latest: 2},
	}
	var d draftIndex
	ix, approximate := d.get(heads)
	if approximate {
		t.Error("the first draft index, built whole, is approximate")
	}
	if _, ok := ix.Article("a"); !ok {
		t.Error("the draft is not indexed")
	}
	if _, ok := ix.Article("b"); ok {
		t.Error("an archived article is indexed")
	}
	if again, _ := d.get(heads); again != ix {
		t.Error("the index was rebuilt for the same drafts")
	}
	heads[0].Latest = 2
	if again, _ := d.get(heads); again == ix {
		t.Error("the index was not rebuilt for a new draft")
	}
	heads[1].Article.Status = kb.StatusDraft
	if again, _ := d.get(heads); again == nil {
		t.Fatal("no index")
	} else if _, ok := again.Article("b"); !ok {
		t.Error("an article taken out of the archive is not indexed")
	}
}
