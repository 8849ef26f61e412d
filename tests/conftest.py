"""Shared by the unit and integration tiers: run a module's main() in-process and get its result dict back."""

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """exit_json was called; args[0] is the result."""


class ModuleFail(Exception):
    """fail_json was called; args[0] is the result."""


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs['failed'] = True
    kwargs['msg'] = msg
    raise ModuleFail(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, check=False, diff=False) -> result dict (has 'failed' on failure)."""
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)

    def run(module, args, check=False, diff=False):
        args = dict(args)
        if check:
            args['_ansible_check_mode'] = True
        if diff:
            args['_ansible_diff'] = True
        with patch_module_args(args):
            try:
                module.main()
            except (ModuleExit, ModuleFail) as done:
                return done.args[0]
        raise AssertionError('module returned without exit_json or fail_json')

    return run
