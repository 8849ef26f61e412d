#!/usr/bin/env bash
# Runs ansible-test on this checkout without Galaxy or containers:
#  - ansible-test wants a real directory .../ansible_collections/nestedkvm/stack (it rejects symlinks and
#    sees no files inside another repo's ignored dir), so the tracked files are copied to one under /tmp;
#  - its --venv bootstrap downloads get-pip from a host that may be unreachable; a cached stand-in that
#    installs pip from the interpreter's bundled wheel is put where ansible-test looks first.
# Usage: hack/ansible-test.sh sanity|units [ansible-test options]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tree=${ANSIBLE_TEST_TREE:-${TMPDIR:-/tmp}/nestedkvm-ansible-test}/ansible_collections/nestedkvm/stack
rm -rf "$tree" && mkdir -p "$tree"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$tree" -xf -

requirements_py=$(python -c 'import ansible_test._internal.python_requirements as r; print(r.__file__)')
pip_version=$(grep -oP "^\s+pip='\K[0-9.]+" "$requirements_py")
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -s "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp "$repo/hack/get_pip_offline.py" "$cache"
fi
cd "$tree"
exec ansible-test "$@" --venv --python 3.11
