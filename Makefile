# The two commands the README promises: `make demo` and `make test`.
.PHONY: demo test build vet cross fuzz soak docs

demo:
	go run ./cmd/sfmcp-demo

# Tests run inside a private D-Bus session with an unlocked gnome-keyring,
# so the keychain tests use a real Secret Service.
test:
	scripts/with-keyring go test -race -count=1 ./...

build:
	CGO_ENABLED=0 go build -ldflags="-s -w" -o bin/ ./cmd/sfmcp-token ./cmd/sfmcp-token-full

vet:
	go vet ./...

# The six release targets, as CI builds them.
cross:
	scripts/cross-compile

# Every fuzz target for two minutes (CI runs 10000 executions of each);
# scripts/fuzz finds the targets itself.
fuzz:
	scripts/fuzz 2m

# Long load: 64 and 512 connections for 60 s each (bench/RESULTS.md).
soak:
	bench/soak.sh

# The command reference (docs/cli) and man pages (docs/man), generated from
# the command tree; a test fails when they are not current.
docs:
	go test ./internal/cli -run TestDocsAreCurrent -update-docs
