"""domain_status and domain_wait's module half against libvirt's test driver. (domain_wait's controller half, the
action plugin with its progress lines, runs through ansible-playbook in tests/integration/test_hangs.py.)"""

import pytest

from ansible_collections.nestedkvm.stack.plugins.modules import domain_status, domain_wait
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI


@pytest.fixture
def guest(hypervisor):
    domain = hypervisor.conn.defineXML("<domain type='test'><name>status</name><memory>65536</memory>"
                                       "<os><type>hvm</type></os></domain>")
    domain.create()
    yield domain
    if domain.isActive():
        domain.destroy()
    domain.undefine()


def test_status_of_a_running_guest(run_module, guest):
    result = run_module(domain_status, dict(name='status', uri=TEST_URI, cpu_sample=0.0))
    status = result['domain_status']
    assert not result['changed'] and status['exists'] and (status['state'], status['reason']) == ('running', 'booted')
    assert "domain 'status' on this host (test:///default) is running (booted)" in status['message']


def test_status_of_a_missing_guest_is_an_answer_not_a_failure(run_module, hypervisor):
    result = run_module(domain_status, dict(name='nope', uri=TEST_URI))
    assert not result.get('failed') and result['domain_status']['exists'] is False


def test_wait_reports_ready_or_what_it_saw(run_module, guest):
    ready = run_module(domain_wait, dict(name='status', uri=TEST_URI, wait_for='running', timeout=5))
    assert ready['ready'] and ready['outcome'] == 'ready' and 'domain_status' not in ready
    guest.destroy()
    stopped = run_module(domain_wait, dict(name='status', uri=TEST_URI, wait_for='running', timeout=60), check=True)
    assert not stopped['ready'] and stopped['outcome'] == 'stopped' and not stopped['changed']
    assert (stopped['domain_status']['state'], stopped['domain_status']['reason']) == ('shutoff', 'destroyed')
