"""Every pattern check matches the whole value: a trailing or embedded newline is refused, naming the
option, before anything is made (``$`` in a regular expression also matches before a final newline, which
once let a storage pool with a newline in its name be created)."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.modules import l1_domain, l2_domain, storage_pool
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_POOL, TEST_URI


def domain_args(**overrides):
    values = dict(name='l1a', uri=TEST_URI, virt_type='qemu', memory='1GiB',
                  disks=[dict(name='root', pool=TEST_POOL, size='4GiB')],
                  networks=[dict(type='user')])
    values.update(overrides)
    return values


def host_state(hypervisor):
    """Domains with their XML, volumes and pools: what a refusal must leave as it was."""
    conn = hypervisor.conn
    return (sorted((d.name(), d.XMLDesc(0)) for d in conn.listAllDomains()),
            sorted((p.name(), sorted(p.listVolumes()) if p.isActive() else None) for p in conn.listAllStoragePools()))


NEWLINES = [pytest.param('\n', id='trailing'), pytest.param('\nx', id='embedded')]

DOMAIN_CASES = [
    ('name', lambda nl: dict(name='l1a' + nl)),
    ('disks[0].name', lambda nl: dict(disks=[dict(name='root' + nl, pool=TEST_POOL, size='4GiB')])),
    ('disks[0].size', lambda nl: dict(disks=[dict(name='root', pool=TEST_POOL, size='4GiB' + nl)])),
    ('memory', lambda nl: dict(memory='1GiB' + nl)),
    ('cpu_model', lambda nl: dict(cpu_mode='custom', cpu_model='qemu64' + nl)),
    ('networks[0].mac', lambda nl: dict(networks=[dict(type='user', mac='52:54:00:12:34:56' + nl)])),
    ('cloud_init.hostname', lambda nl: dict(cloud_init=dict(hostname='guest' + nl))),
]


@pytest.mark.parametrize('newline', NEWLINES)
@pytest.mark.parametrize('module', [l1_domain, l2_domain], ids=['l1_domain', 'l2_domain'])
@pytest.mark.parametrize('option, overrides', DOMAIN_CASES, ids=[c[0] for c in DOMAIN_CASES])
def test_a_domain_option_with_a_newline_is_refused_and_nothing_changes(
        run_module, hypervisor, module, option, overrides, newline):
    before = host_state(hypervisor)
    result = run_module(module, domain_args(**overrides(newline)))
    assert result.get('failed') and result.get('option') == option, result
    assert host_state(hypervisor) == before


@pytest.mark.parametrize('newline', NEWLINES)
def test_a_pool_name_with_a_newline_is_refused_and_nothing_changes(run_module, hypervisor, newline):
    before = host_state(hypervisor)
    result = run_module(storage_pool, dict(name='lab' + newline, path='/var/lib/nk-lab', uri=TEST_URI))
    assert result.get('failed') and result.get('option') == 'name', result
    assert host_state(hypervisor) == before
