"""Connection against libvirt's test driver: the per-domain lock, a connection that went away, and the URIs it
opens."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, validate_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError

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


@pytest.mark.parametrize('uri', [
    'qemu:///system', 'qemu:///session', 'qemu+unix:///system?mode=direct', 'qemu+ssh://root@l0.example/system',
    'qemu+ssh://l0.example:2222/system?sshauth=agent,privkey&no_tty=1', 'qemu+libssh2://l0/system',
    'qemu+tls://[2001:db8::1]:16514/system', 'qemu://l0.example/system', 'test:///default',
])
def test_the_uris_the_collection_opens_are_accepted(uri):
    assert validate_uri(uri) == uri


@pytest.mark.parametrize('uri, reason', [
    ('test:///etc/shadow', 'names a file'),
    ('test:///default?x=1', 'names a file'),
    ('qemu+ext:///system?command=/usr/bin/id', 'runs a program'),
    ('qemu+ssh://l0/system?netcat=/tmp/nc', 'runs a program (netcat=)'),
    ('qemu+ssh://l0/system?command=/bin/sh', 'runs a program (command=)'),
    ('qemu:///system?socket=/etc/shadow', 'names a file or socket (socket=)'),
    ('qemu+ssh://l0/system?keyfile=/root/.ssh/id_rsa', 'keyfile='),
    ('qemu+libssh://l0/system?known_hosts=/etc/shadow', 'known_hosts='),
    ('qemu+tls://l0/system?pkipath=/etc', 'pkipath='),
    ('qemu+ssh://-oProxyCommand=id/system', 'does not name a host'),
    ('qemu+ssh://l0/system?sshauth=agent;id', 'sshauth='),
    ('qemu+tcp://l0/system', 'unencrypted'),
    ('qemu+unix://l0/system', 'only reaches this one'),
    ('qemu:///embed?root=/var/tmp', '/system or /session'),
    ('xen:///system', 'not a QEMU/KVM URI'),
    ('qemu:///system\n', 'single line'),
    ('qemu:///system?mode=fast', 'mode='),
    ('qemu:///system?tls_priority=NORMAL', 'does not pass'),
    ('qemu+ssh://l0/system#frag', 'fragment'),
])
def test_a_uri_that_names_a_file_runs_a_program_or_is_unsupported_is_refused(uri, reason):
    with pytest.raises(OptionError) as refused:
        validate_uri(uri)
    assert refused.value.details['option'] == 'uri' and refused.value.msg.startswith('uri: ')
    assert reason in refused.value.msg and 'qemu:///system' in refused.value.msg


def test_a_password_in_the_uri_is_refused_without_repeating_it():
    with pytest.raises(OptionError) as refused:
        validate_uri('qemu+ssh://root:hunter2@l0/system')
    assert 'hunter2' not in refused.value.msg and refused.value.details['option'] == 'uri'
