# The contract with a new user: `make run` serves the demo, `make test` runs every test.
# Both set up what they need (a virtualenv, system packages) on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

NODE_STAMP := client-js/node_modules/.installed-stamp

.PHONY: run test lint setup system-deps js js-test node-deps node-bin browser-deps clean chaos bench \
	bench-quick bench-deps bench-lint capacity

run: $(STAMP)
	$(BIN)/livethread serve --demo

# The end-to-end, reliability, chaos, worker, automod and accounts/reports tests run a second time with every server
# on PostgreSQL (a private cluster the tests start: tests/support/postgres.py).
POSTGRES_TESTS := tests/test_end_to_end.py tests/test_reliability.py tests/test_chaos.py \
	tests/test_webhooks.py tests/test_notifications.py tests/test_worker_processes.py \
	tests/test_automod.py tests/test_automod_classifier.py tests/test_edits.py \
	tests/test_idempotency.py tests/test_consumer.py tests/test_snapshots.py \
	tests/test_sign_in.py tests/test_reports.py tests/test_first_time.py tests/test_badges.py \
	tests/test_bans.py tests/test_reactions.py tests/test_feeds.py tests/test_snapshot_pages.py \
	tests/test_language_answers.py tests/test_language_mail.py tests/test_import_workers.py \
	tests/test_import_live.py tests/test_admin_imports.py

test: setup system-deps lint js-test browser-deps
	$(BIN)/pytest
	$(BIN)/pytest --store postgres $(POSTGRES_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

setup: $(STAMP) system-deps

# The long chaos run (tests/chaos.py): readers on two server processes while Redis and the
# processes are killed and restarted; prints a table, fails on any broken invariant. Its short
# form runs in `make test` (tests/test_chaos.py). Override e.g. CHAOS_ARGS="--readers 500".
CHAOS_ARGS ?= --readers 200 --seconds 60 --rate 10
chaos: setup
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

# Performance figures: every scenario in bench/ (not part of `make test`); bench/loadgen.py is
# fanout's load generator, not a scenario. fanout (livethread against the peers, ~25 min) writes
# bench/RESULTS.md and bench/latency.png; `make bench-quick` is its ~5-minute sanity run.
BENCH_STAMP := $(VENV)/.bench-stamp
# Not scenarios: the load generator, the capacity model (printed after them all) and a part
# of bench/posting.py.
BENCH_HELPERS := loadgen capacity capacity_model first_snapshot

# bench/ is type-checked here, where its optional dependencies are installed (`make lint`
# covers server/, workers/ and tests/ without them).
bench-lint: bench-deps
	$(BIN)/mypy bench

# bench/first_paint.py drives Debian's chromium.
bench: setup bench-deps bench-lint browser-deps
	@for scenario in bench/[!_]*.py; do \
		name=$$(basename $$scenario .py); \
		case " $(BENCH_HELPERS) " in *" $$name "*) continue;; esac; \
		echo "## $$scenario"; \
		$(BIN)/python -m bench.$$name || exit 1; \
	done
	$(BIN)/python -m bench.capacity > /dev/null

# deploy/CAPACITY.md printed again from bench/results.json and bench/posting.json (no measuring).
capacity: setup
	$(BIN)/python -m bench.capacity > /dev/null

bench-quick: setup bench-deps bench-lint
	$(BIN)/python -m bench.fanout --quick

# The benchmark's own dependencies (the optional `bench` group): only for these targets.
bench-deps: $(BENCH_STAMP)

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# PyICU (Unicode's confusables and mixed-script rules, for names) builds against ICU's headers.
$(STAMP): pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	@{ pkg-config --exists icu-uc && command -v g++ >/dev/null; } 2>/dev/null || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y libicu-dev pkg-config g++ python3-dev; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Tests start their own private redis-server, PostgreSQL cluster (initdb + pg_ctl in a temporary
# folder) and nginx (deploy/nginx.conf, tests/deploy/) on free
# loopback ports, and check the systemd units with systemd-analyze (no init system is run); they
# need only the binaries. Debian's packages do not start a service here
# when there is no init system; where there is one, stop it if you do not want it.
system-deps:
	@command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y redis-server; }
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y nginx; }
	@command -v systemd-analyze >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y systemd; }
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y postgresql; }

# The widget: client-js/src/ bundled into server/web/static/embed.js (readers) and moderate.js
# (the moderators' page only), committed so that `make run` needs no Node. `make js` rebuilds
# both; `make js-test` fails when either is stale or over its size budget.
js: node-deps
	cd client-js && npm run --silent build

js-test: node-deps
	cd client-js && node build.mjs --check
	cd client-js && npm run --silent check
	cd client-js && npm test

node-deps: node-bin $(NODE_STAMP)

node-bin:
	@command -v node >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y nodejs npm; }

$(NODE_STAMP): client-js/package-lock.json client-js/package.json | node-bin
	cd client-js && npm ci
	touch $(NODE_STAMP)

# Browser tests drive Debian's chromium (never a downloaded browser build).
browser-deps:
	@[ -x /usr/bin/chromium ] || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis livethread.db* \
		client-js/node_modules test-artifacts
