"""Templating a role's task as a play would, without running it; reading what a role run printed."""

import json
import os
import re

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')
OMIT = '__omit_place_holder__nk'


def _tasks(items):
    for task in items:
        yield task
        for section in ('block', 'rescue', 'always'):
            yield from _tasks(task.get(section, ()))


def _load(loader, *parts):
    path = os.path.join(ROLES, *parts)
    return (loader.load_from_file(path, trusted_as_template=True) or {}) if os.path.exists(path) else {}


@pytest.fixture
def role_task_args():
    """role_task_args(role, tasks_file, module, host_vars, options) -> {option: value} of the first task of
    roles/<role>/tasks/<tasks_file> (blocks included) that calls ``module``, templated with the role's defaults,
    ``host_vars`` and the role's vars (in that order of precedence, as in a play); options the task omits are left
    out."""
    def template(role, tasks_file, module, host_vars, options):
        loader = DataLoader()
        task = next(t for t in _tasks(_load(loader, role, 'tasks', tasks_file)) if module in t)
        variables = dict(_load(loader, role, 'defaults', 'main.yml'), omit=OMIT)
        variables.update(host_vars)
        variables.update(_load(loader, role, 'vars', 'main.yml'))
        variables.update(task.get('vars', {}))
        templar = Templar(loader=loader, variables=variables)
        args = {}
        for key in options:
            value = templar.template(task[module][key])
            if value != OMIT:
                args[key] = value
        return args
    return template


@pytest.fixture
def guest_ssh_var():
    """guest_ssh_var(role, name, host_vars) -> the internal guest_ssh role's variable ``name`` as templated when
    ``role`` calls it: guest_ssh's defaults, the role's defaults, ``host_vars``, the role's vars and guest_ssh's vars
    for that role (vars_from: the role's own variables under guest_ssh's names), in that order of precedence, as in a
    play."""
    def template(role, name, host_vars):
        loader = DataLoader()
        variables = dict(_load(loader, 'guest_ssh', 'defaults', 'main.yml'))
        variables.update(_load(loader, role, 'defaults', 'main.yml'))
        variables.update(host_vars)
        variables.update(_load(loader, role, 'vars', 'main.yml'))
        variables.update(_load(loader, 'guest_ssh', 'vars', role + '.yml'))
        return Templar(loader=loader, variables=variables).template(variables[name])
    return template


@pytest.fixture
def role_summaries():
    """role_summaries(stdout) -> the message of each run of the roles' summary task, in order, from an
    ansible-playbook run with ANSIBLE_CALLBACK_RESULT_FORMAT=json; a run that printed on more than one host fails."""
    def parse(stdout):
        messages = []
        for block in stdout.split('\nTASK [')[1:]:
            if not block.startswith('nestedkvm.stack.guest_ssh : Where the guests of this play run'):
                continue
            results = [json.loads(text) for text in re.findall(r'^ok: \[[^\]]+\] => (\{.*?^\})$', block, re.M | re.S)]
            assert len(results) == 1, block
            messages.append(results[0]['msg'])
        return messages
    return parse
