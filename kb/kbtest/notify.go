package kbtest

import (
	"context"
	"testing"
	"time"

	"github.com/kefuhq/kefu/kb"
)

// reach is how long a publish may take to reach another instance.
const reach = time.Second

// TestNotifier runs the conformance tests of a kb.Notifier. newPair returns
// two notifiers of one backend, as two instances would hold them (they may
// be the same one).
func TestNotifier(t *testing.T, newPair func(t *testing.T) (kb.Notifier, kb.Notifier)) {
	t.Run("Reaches", func(t *testing.T) {
		pub, sub := newPair(t)
		ch := subscribe(t, sub)
		own := subscribe(t, pub)
		for rev := int64(1); rev <= 3; rev++ {
			if err := pub.Publish(context.Background(), rev); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, ch, 3)
		waitFor(t, own, 3)
	})
	t.Run("Closes", func(t *testing.T) {
		_, sub := newPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := sub.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		timeout := time.After(reach)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-timeout:
				t.Fatal("the channel stayed open after the context ended")
			}
		}
	})
}

// subscribe subscribes until the test ends, and waits then for the channel
// to close, so that nothing outlives the test's clients.
func subscribe(t *testing.T, n kb.Notifier) <-chan int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := n.Subscribe(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	return ch
}

// waitFor receives from ch until it gets rev, failing after reach.
func waitFor(t *testing.T, ch <-chan int64, rev int64) {
	t.Helper()
	timeout := time.After(reach)
	for {
		select {
		case got := <-ch:
			if got == rev {
				return
			}
		case <-timeout:
			t.Fatalf("revision %d did not arrive within %s", rev, reach)
		}
	}
}

// Instance is what one running kefu holds of the knowledge base: its store
// and its notifier.
type Instance struct {
	// Store is the instance's store, on the shared backend.
	Store kb.Store
	// Notifier is the instance's notifier; nil means a LocalNotifier of
	// its own.
	Notifier kb.Notifier
}

// editors returns an Editor for each instance newPair returns.
func editors(t *testing.T, newPair func(t *testing.T) (Instance, Instance)) (*kb.Editor, *kb.Editor) {
	t.Helper()
	var es [2]*kb.Editor
	x, y := newPair(t)
	for i, in := range []Instance{x, y} {
		e, err := kb.NewEditor(in.Store, in.Notifier, nil)
		if err != nil {
			t.Fatal(err)
		}
		es[i] = e
	}
	return es[0], es[1]
}

// TestWatch checks that a publish through one instance's Editor reaches the
// Watch of another. newPair returns two instances on one backend.
func TestWatch(t *testing.T, newPair func(t *testing.T) (Instance, Instance)) {
	a, b := editors(t, newPair)
	ctx, cancel := context.WithCancel(context.Background())
	type update struct {
		articles []kb.Article
		rev      int64
	}
	updates := make(chan update, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(ctx, 0, time.Hour, func(articles []kb.Article, rev int64) { updates <- update{articles, rev} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch = %v", err)
		}
	})
	next := func() update {
		t.Helper()
		select {
		case u := <-updates:
			return u
		case <-time.After(reach):
			t.Fatalf("the publish did not reach the other instance within %s", reach)
			return update{}
		}
	}

	mustEditorSave(t, a, article("w", 1))
	mustPublish(t, a, "w")
	u := next()
	if len(u.articles) != 1 || u.articles[0].Answer != "答案 1" || u.rev != 1 {
		t.Fatalf("first update = %+v", u)
	}
	mustEditorSave(t, a, article("w", 2))
	mustPublish(t, a, "w")
	if u := next(); len(u.articles) != 1 || u.articles[0].Answer != "答案 2" || u.rev != 2 {
		t.Fatalf("second update = %+v", u)
	}
	if _, err := a.Archive(context.Background(), []string{"w"}, "boss"); err != nil {
		t.Fatal(err)
	}
	if u := next(); len(u.articles) != 0 || u.rev != 3 {
		t.Fatalf("update after Archive = %+v", u)
	}
}

// TestWatchPoll checks that Watch finds a publish it was not told about,
// by polling: what happens when another process publishes on the embedded
// store. newPair returns two instances on one store whose notifiers do not
// reach each other.
func TestWatchPoll(t *testing.T, newPair func(t *testing.T) (Instance, Instance)) {
	a, b := editors(t, newPair)
	mustEditorSave(t, a, article("p", 1))
	mustPublish(t, a, "p")
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan int64, 4)
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx, 1, 10*time.Millisecond, func(_ []kb.Article, rev int64) { got <- rev }) }()
	defer func() {
		cancel()
		<-done
	}()
	mustEditorSave(t, a, article("p", 2))
	mustPublish(t, a, "p")
	select {
	case rev := <-got:
		if rev != 2 {
			t.Errorf("Watch reported revision %d, want 2", rev)
		}
	case <-time.After(reach):
		t.Fatal("Watch did not poll the revision")
	}
}
