"""_module.run_domain_module, the main() of l1_domain and l2_domain: the AnsibleModule it builds from _domain_spec's
options for the level, the profile it hands the engine, its failures reported, and the diff returned only in diff
mode. Run in-process on libvirt's test driver by tests/conftest.py's run_module, with a main() of its own."""

from functools import partial
from types import SimpleNamespace

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._module import run_domain_module
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import domain_args


def domain_module(level=1):
    return SimpleNamespace(main=lambda: run_domain_module(level))


args = partial(domain_args, name='host15-vm', virt_type='auto')


def test_a_run_defines_and_returns_the_diff_only_in_diff_mode(run_module, hypervisor):
    plain = run_module(domain_module(), args(), check=True)
    assert plain['changed'] is True and 'diff' not in plain, plain
    with_diff = run_module(domain_module(), args(), check=True, diff=True)
    assert with_diff['changed'] is True and with_diff['diff']['before'] != with_diff['diff']['after']
    assert hypervisor.domains() == []  # check mode
    made = run_module(domain_module(), args())
    assert made['changed'] is True and hypervisor.domains() == ['host15-vm']


def test_cpu_mode_custom_needs_cpu_model(run_module, hypervisor):
    result = run_module(domain_module(), args(cpu_mode='custom'))
    assert result['failed'] and result['option'] == 'cpu_model', result
    assert hypervisor.domains() == []


def test_each_level_takes_its_own_options(run_module, hypervisor):
    assert 'failed' not in run_module(domain_module(1), args(nested=False), check=True)
    result = run_module(domain_module(1), args(profile='linux'), check=True)
    assert result['failed'] and 'profile' in result['msg'], result


@pytest.mark.parametrize('level, given, handed', [(1, None, 'hypervisor'), (2, 'windows11', 'windows11'),
                                                  (2, None, 'linux')])
def test_the_profile_handed_to_the_engine(run_module, hypervisor, monkeypatch, level, given, handed):
    from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain
    seen = []
    real = _domain.DomainManager.__init__

    def record(self, module, level, profile):
        seen.append((level, profile))
        real(self, module, level=level, profile=profile)
    # Only to see what the engine is handed; the run itself is the engine's own.
    monkeypatch.setattr(_domain.DomainManager, '__init__', record)
    run_module(domain_module(level), args(**({'profile': given} if given else {})), check=True)
    assert seen == [(level, handed)]


def test_an_error_of_the_engine_fails_the_run_naming_the_option(run_module, hypervisor):
    result = run_module(domain_module(), args(name='-bad'))
    assert result['failed'] and result['option'] == 'name' and result['msg'].startswith('name: '), result
    assert hypervisor.domains() == []
