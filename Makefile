# nestedkvm.stack: `make test` sets up everything it needs (apt + a pinned venv) and runs the tests;
# `make lab` runs the lab. See README.md.
SHELL := /bin/bash
WORK ?= .work
VENV := $(WORK)/venv/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(WORK)/collections
export PATH := $(CURDIR)/$(VENV):$(PATH)

.PHONY: test deps lint sanity units integration lab clean

test: deps lint sanity units integration

deps:
	@hack/deps.sh

lint: deps
	ruff check plugins tests
	yamllint -s .
	ansible-lint

sanity: deps
	hack/ansible-test.sh sanity

units: deps
	pytest tests/unit

# Real libvirtd (qemu:///system) and QEMU/TCG on this machine; needs root (or sudo).
integration: deps
	hack/libvirtd.sh start
	pytest tests/integration -m integration

lab: deps
	hack/libvirtd.sh start
	ansible-playbook -i localhost, -c local playbooks/host_report.yml

clean:
	rm -rf $(WORK) tests/output
