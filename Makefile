# integration.demoapp — the commands a newcomer needs.
#   make demo   converge site.yml on a disposable local systemd container and show the proof
#   make test   the whole test suite (lint, sanity, unit, every Molecule scenario)
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)

.PHONY: test demo demo-clean env lint sanity unit audit scenario bench changelog clean

test:  ## the whole suite, as CI runs it
	scripts/run-tests.sh

demo:  ## converge site.yml on a local container, run the batch, print its rows
	scripts/demo.sh

demo-clean:  ## remove the demo container
	scripts/demo.sh clean

env:  ## venv, Docker engine, base images (idempotent)
	scripts/testenv.sh all

lint:
	STAGES=lint scripts/run-tests.sh

sanity:
	STAGES=sanity scripts/run-tests.sh

unit:  ## unit tests, with coverage of files/ and plugins/ (80 % minimum)
	STAGES=unit scripts/run-tests.sh

audit:  ## pip-audit --strict of requirements.txt (DEMOAPP_PIP_AUDIT=offline skips it, loudly)
	STAGES=audit scripts/run-tests.sh

scenario:  ## one Molecule scenario: make scenario S=ssh_hardening
	STAGES=molecule SCENARIOS="$(S)" scripts/run-tests.sh

bench:  ## speed figures (not part of the test gate)
	scripts/bench.sh

changelog:
	antsibull-changelog release

clean:
	rm -rf .cache/sanity .cache/facts tests/output
