# The two commands of README.md. Each installs what is missing first (scripts/setup.sh).
.PHONY: run test ui

# scripts/setup.sh puts a newer Node.js here when the machine's is too old for the UI toolchain.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)

run:
	scripts/setup.sh run
	npm --prefix ui run --silent build
	scripts/run.sh

test:
	scripts/setup.sh test
	scripts/test.sh

ui:
	npm --prefix ui run --silent build
