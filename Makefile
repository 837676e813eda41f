# kefu — make run (embedded store, default KB, no setup) and make test (everything CI runs).
GO ?= go
PKGS := ./...

.PHONY: run build test unit quality e2e-deps bench lint fuzz loadtest clean

run:
	$(GO) run ./cmd/kefu serve

build:
	$(GO) build -o bin/kefu ./cmd/kefu
	$(GO) build -o bin/kefu-loadtest ./cmd/kefu-loadtest

## test: lint, then every test (unit, conformance on SQLite and — with KEFU_TEST_REDIS_URL — Redis, fuzz seeds, end to end).
test: lint e2e-deps
	$(GO) test -race -count=1 $(PKGS)
	$(MAKE) quality
	@out=$$($(GO) test -count=1 -run '^TestPublishLargeKB$$' -v ./cmd/kefu 2>&1); status=$$?; \
	echo "$$out" | grep -E 'kbreload_test|^(ok|FAIL|---)'; exit $$status

## quality: the matcher's figures on the dev splits of ../shared/data must not fall (without -race: it trains on 15k questions).
quality:
	@out=$$($(GO) test -count=1 -run '^TestDevFigures$$' -v ./kb/kbeval 2>&1); status=$$?; \
	echo "$$out" | grep -E 'dataset=|want at least|^(ok|FAIL|---)'; exit $$status

## unit: the Go tests without installing the end-to-end client.
unit:
	$(GO) test -race -count=1 $(PKGS)

e2e-deps:
	@if [ ! -d e2e/node_modules/wechat-crypto ]; then cd e2e && npm ci --no-audit --no-fund; fi

## bench: Go benchmarks — webhook (plain, AES), the whole path beside the floor, FAQ match on a 10k KB, stores.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bot/... ./kb/ ./kb/kbapi/ ./intents/ ./handoff/... ./cmd/kefu/

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); fi

## fuzz: run each fuzz target for FUZZTIME (default 20s).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## loadtest: start kefu in safe mode on :8080 (embedded store) and drive it, beside the floor handler.
loadtest: build
	bash scripts/loadtest.sh

clean:
	rm -rf bin
