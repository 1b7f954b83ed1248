# The two commands of README.md. Each installs what is missing first (scripts/setup.sh).
.PHONY: run test ui

run:
	scripts/setup.sh run
	npm --prefix ui run --silent build
	scripts/run.sh

test:
	scripts/setup.sh test
	scripts/test.sh

ui:
	npm --prefix ui run --silent build
