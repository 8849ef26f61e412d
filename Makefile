# nestedkvm.stack: `make test` sets up everything it needs (apt + a pinned venv) and runs the tests;
# `make lab` runs the lab. See README.md.
SHELL := /bin/bash
WORK ?= .work
VENV := $(WORK)/venv/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(WORK)/collections
export PATH := $(CURDIR)/$(VENV):$(PATH)

.PHONY: test deps lint sanity units integration molecule lab lab-teardown bench soak overhead-docs clean

test: deps lint sanity units integration molecule

deps:
	@hack/deps.sh

lint: deps
	ruff check plugins tests molecule bench
	yamllint -s .
	ansible-lint
	antsibull-changelog lint

sanity: deps
	hack/ansible-test.sh sanity

# On the machine's libvirt, then on libvirt0 from bookworm-backports (fetched once into
# /var/cache/nestedkvm, nothing installed); NESTEDKVM_SECOND_LIBVIRT=try|require|off (hack/units.sh).
units: deps
	hack/units.sh

# Real libvirtd (qemu:///system) and QEMU/TCG on this machine; needs root (or sudo).
integration: deps
	hack/libvirtd.sh start
	pytest tests/integration -m integration

# Molecule scenarios: real VMs on the local libvirtd. `make test` runs full_stack (the lab of
# inventories/local built, converged again with no change, checked inside L1 and L2, torn down:
# it replaces a lab made by `make lab`). Pick others with SCENARIOS="...", or SCENARIOS=all.
# hack/molecule.sh resets Molecule's state first (a saved "prepared" would skip a new run's prepare
# step). MOLECULE_ATTEMPTS=N runs a failed scenario again, up to N runs in all (.ci/run sets 3; see hack/molecule.sh).
SCENARIOS ?= full_stack
ALL_SCENARIOS := l0_host l1_hypervisor l2_guests full_stack
MOLECULE_ATTEMPTS ?= 1
molecule: deps
	hack/libvirtd.sh start
	hack/molecule.sh $(MOLECULE_ATTEMPTS) $(if $(filter all,$(SCENARIOS)),$(ALL_SCENARIOS),$(SCENARIOS))

# The whole lab on this machine: L0 = here (emulated where there is no VT-x/AMD-V), one L1, one L2.
lab: deps
	hack/libvirtd.sh start
	ansible-playbook -i inventories/local site.yml

# Removes the lab's VMs, their disks and host keys; keeps host set-up and the cached images.
lab-teardown: deps
	hack/libvirtd.sh start
	ansible-playbook -i inventories/local playbooks/teardown.yml

# The collection's own speed, side by side with community.libvirt (bench/README.md): prints
# `name value unit` lines and writes bench/results.json. Real libvirtd; replaces and then removes a
# lab made by `make lab`. BENCH="peer scale" skips the lab part, BENCH_OPTIONS=--no-cold its cold run.
BENCH ?=
BENCH_OPTIONS ?=
bench: deps
	hack/libvirtd.sh start
	python bench/run.py $(BENCH_OPTIONS) $(BENCH)

# How dependable the emulated lab is (bench/soak.py): N boots of the L2 inside one L1 and L1_BOOTS fresh L1s,
# counted as booted, L1 panic, L1 hang, QEMU crash or L2 hang, with evidence, into bench/results.json ("soak").
# Builds the lab first and leaves it running. SOAK_OPTIONS="--variant NAME -e var=value --l1-kvm-amd 'avic=0'".
N ?= 30
L1_BOOTS ?= 3
SOAK_OPTIONS ?=
soak: deps
	hack/libvirtd.sh start
	python bench/soak.py --boots $(N) --l1-boots $(L1_BOOTS) $(SOAK_OPTIONS)

# docs/overhead-report's Markdown and SVG drawn again from its overhead.json (no VM): after changing how the
# report is drawn or what its notes say (hack/overhead_docs.py).
overhead-docs: deps
	python hack/overhead_docs.py docs/overhead-report

clean:
	rm -rf $(WORK) tests/output
