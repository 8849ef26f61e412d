"""Connection against libvirt's test driver: the per-domain lock and a connection that went away."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError

pytest.importorskip('libvirt')


def test_a_second_run_on_the_same_domain_waits_then_says_who_holds_it():
    with Connection('test:///default') as first, Connection('test:///default') as second:
        with first.lock('vm1', timeout=5):
            waiting = pytest.raises(NestedKvmError, match="another run has been changing domain 'vm1'")
            with waiting as waited, second.lock('vm1', timeout=1):
                pass
            assert waited.value.details['option'] == 'timeout'
            with second.lock('vm2', timeout=1):  # other domains are not held up
                pass
        with second.lock('vm1', timeout=1):  # released with the block
            pass


def test_a_connection_lost_part_way_is_reported_as_such():
    lost = pytest.raises(NestedKvmError, match=r"lost the connection to libvirt at 'test:///default'.*run again")
    with lost, Connection('test:///default') as connection:
        connection.conn.close()  # as when libvirtd goes away: every later call fails
        connection.conn.getVersion()


def test_other_failures_pass_through_unchanged():
    with pytest.raises(ValueError, match='not about libvirt'), Connection('test:///default'):
        raise ValueError('not about libvirt')
