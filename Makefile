# hotchain: build, test and demo. `make deps` installs what the tests need (Debian 12, as root).

GO      ?= go
BIN     := bin/hotchain
PKGS    := ./...
# The binary the base RPM ships must run inside an installroot without libc: static.
export CGO_ENABLED = 0

.PHONY: all build test test-debian13 debian13-root test-short lint deps demo bench clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/hotchain

# Everything, the integration tests against the real rpm, dnf and createrepo_c included:
# first against this machine's (Debian 12: rpm 4.18, dnf 4.14, createrepo_c 0.17), then
# against Debian 13's (rpm 4.20 with rpm-sequoia, dnf 4.23, createrepo_c 1.2).
test: deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) test-debian13

# The second lane: the tests of the packages that call rpm, dnf and createrepo_c, as static
# binaries chrooted into a Debian 13 root (no Go inside); see .ci/debian13-lane.sh.
test-debian13: debian13-root
	bash .ci/debian13-lane.sh

# The Debian 13 root of that lane, made once with debootstrap (about a minute) from this
# machine's apt mirror and cached in $${XDG_CACHE_HOME:-~/.cache}/hotchain (HOTCHAIN_CACHE
# overrides); prints its path.
debian13-root:
	@bash .ci/debian13-root.sh

# Unit tests only: no real-tool integration tests, no crash loop.
test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# The Debian packages the tests and the demo use: the real rpm, dnf and createrepo_c to test
# against, a static busybox for /bin/sh inside dnf installroots, the tools tests call, and
# GNU time, with which make bench measures peak memory; xz and zstd (compressed metadata),
# unshare (namespaces), systemd-analyze (the boot unit is checked with systemd's parser).
# Idempotent: apt runs only when a command is missing. Needs root (as CI and the demo run).
DEPS := rpm:rpm rpmbuild:rpm dnf:dnf createrepo_c:createrepo-c busybox:busybox-static \
	cpio:cpio rpm2cpio:rpm2cpio openssl:openssl gpg:gnupg perl:perl /usr/bin/time:time \
	xz:xz-utils zstd:zstd unshare:util-linux systemd-analyze:systemd promtool:prometheus
deps:
	@missing=""; for pair in $(DEPS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1; then missing="$$missing $$pkg"; fi; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: missing$$missing: run as root" >&2; exit 1; fi; \
	  echo "make deps: installing$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# hotchain against the tools a user would otherwise use (createrepo_c, rpmbuild, dnf, cp -a),
# side by side on generated inputs: several minutes on two cores, so not part of test.
# Prints the table and writes bench/RESULTS.md. BENCHFLAGS=-smoke checks that it all runs;
# go run ./bench -help lists the other flags (-only, -reps, -agent-reps, -pprof DIR, -inputs DIR).
bench: deps build
	$(GO) run ./bench $(BENCHFLAGS)

# The main job on a sandbox root: build a signed chain, publish it, install it with the agent.
demo: deps build
	bash docs/demo.sh

clean:
	rm -rf bin demo
