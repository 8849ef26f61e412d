# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host keys for cloud-init: the public half is what ssh-keygen says; what a guest cannot use is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._ssh_host_keys import cloud_init_ssh_keys, host_public_key


@pytest.mark.parametrize('key_type', ['ed25519', 'ecdsa', 'rsa'])
def test_the_public_half_of_a_host_key_is_what_ssh_keygen_says(keygen, key_type):
    private, public = keygen(key_type)
    assert host_public_key(private) == public


def test_each_key_becomes_cloud_init_s_private_and_public_pair(keygen):
    ed25519, ed25519_public = keygen('ed25519')
    rsa, rsa_public = keygen('rsa')
    assert cloud_init_ssh_keys(['\n' + ed25519, rsa]) == {
        'ed25519_private': ed25519.strip() + '\n', 'ed25519_public': ed25519_public,
        'rsa_private': rsa.strip() + '\n', 'rsa_public': rsa_public}
    assert cloud_init_ssh_keys(None) == {}


@pytest.mark.parametrize('key, message', [
    ('not a key', 'must be an OpenSSH private key'),
    ('-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----', 'not a readable'),
])
def test_what_is_no_openssh_private_key_is_refused(key, message):
    with pytest.raises(OptionError, match=message) as caught:
        host_public_key(key)
    assert caught.value.details == {'option': 'cloud_init.ssh_host_keys'}


def test_an_encrypted_or_second_host_key_of_a_type_is_refused(keygen):
    with pytest.raises(OptionError, match='encrypted with a passphrase'):
        cloud_init_ssh_keys([keygen('ed25519', passphrase='secret')[0]])
    key = keygen('ecdsa')[0]
    with pytest.raises(OptionError, match='two ecdsa keys'):
        cloud_init_ssh_keys([key, key])
