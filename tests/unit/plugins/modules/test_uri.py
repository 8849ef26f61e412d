"""Every module that takes ``uri`` refuses one that names a file or runs a program, before libvirt opens
anything, and never repeats what such a file holds.

Both are real, not mocked: libvirt's test driver reads the file a test:///<path> URI names and quotes its
first line in the error, and the ext transport runs the command it is given (here a script that leaves a
marker file)."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.modules import (domain_status, domain_wait, kvm_host_info, l1_domain,
                                                                 l2_domain, storage_pool)

SECRET = 'root:$6$notahash$TOPSECRETLINE:20228:0:99999:7:::'

MODULE_ARGS = {
    'l1_domain': (l1_domain, dict(name='l1a', virt_type='qemu', memory='1GiB', networks=[dict(type='user')])),
    'l2_domain': (l2_domain, dict(name='l2a', virt_type='qemu', memory='1GiB', networks=[dict(type='user')])),
    'storage_pool': (storage_pool, dict(name='lab', path='/var/lib/nk-lab')),
    'kvm_host_info': (kvm_host_info, dict()),
    'domain_status': (domain_status, dict(name='l1a')),
    'domain_wait': (domain_wait, dict(name='l1a', wait_for='running', timeout=1)),
}


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / 'shadow'
    path.write_text(SECRET + '\n')
    return str(path)


@pytest.fixture
def program(tmp_path):
    """A program that leaves ``ran`` beside itself when run."""
    path = tmp_path / 'prog'
    path.write_text('#!/bin/sh\ntouch "%s"\n' % (tmp_path / 'ran'))
    path.chmod(0o755)
    return str(path), str(tmp_path / 'ran')


def refused(result):
    assert result.get('failed') and result.get('option') == 'uri', result
    assert result['msg'].startswith('uri: ') and 'qemu:///system' in result['msg']


@pytest.mark.parametrize('name', sorted(MODULE_ARGS))
def test_a_uri_naming_a_file_is_refused_without_reading_or_quoting_it(run_module, hypervisor, secret_file, name):
    module, module_args = MODULE_ARGS[name]
    before = hypervisor.domains(), hypervisor.volumes()
    for uri in ('test://%s' % secret_file, 'qemu:///system?socket=%s' % secret_file,
                'qemu+ssh://l0/system?keyfile=%s' % secret_file, 'qemu+libssh://l0/system?known_hosts=%s' % secret_file):
        result = run_module(module, dict(module_args, uri=uri))
        refused(result)
        assert 'TOPSECRETLINE' not in repr(result)
    assert (hypervisor.domains(), hypervisor.volumes()) == before


@pytest.mark.parametrize('name', sorted(MODULE_ARGS))
def test_a_uri_that_runs_a_program_is_refused_before_it_runs(run_module, program, name):
    module, module_args = MODULE_ARGS[name]
    path, marker = program
    for uri in ('qemu+ext:///system?command=%s' % path, 'qemu+ssh://l0/system?netcat=%s' % path):
        refused(run_module(module, dict(module_args, uri=uri)))
    assert not os.path.exists(marker)
