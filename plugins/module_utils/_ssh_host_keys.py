# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host keys handed to a guest through cloud-init: the public half of an OpenSSH private key, derived without a
cryptography library, and cloud-init's ``ssh_keys`` mapping made of them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import struct

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

# cloud-init's names (ssh_keys: <name>_private/<name>_public) for OpenSSH key types.
_HOST_KEY_TYPES = {'ssh-ed25519': 'ed25519', 'ssh-rsa': 'rsa', 'ecdsa-sha2-nistp256': 'ecdsa',
                   'ecdsa-sha2-nistp384': 'ecdsa', 'ecdsa-sha2-nistp521': 'ecdsa'}
_OPENSSH_KEY = re.compile(r'-----BEGIN OPENSSH PRIVATE KEY-----\s*(.+?)\s*-----END OPENSSH PRIVATE KEY-----', re.DOTALL)


def host_public_key(private_key, option='cloud_init.ssh_host_keys'):
    """The public key line ('ssh-ed25519 AAAA...') of an unencrypted OpenSSH private key.

    The openssh-key-v1 format carries the public key in the clear right after the cipher and KDF
    names, so no cryptography library is needed to derive it.
    """
    match = _OPENSSH_KEY.search(private_key or '')
    if not match:
        raise OptionError(option, 'each item must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----, '
                                  'as `ssh-keygen -t ed25519 -N ""` writes it)')
    try:
        data = base64.b64decode(''.join(match.group(1).split()), validate=True)
        if not data.startswith(b'openssh-key-v1\0'):
            raise ValueError('not openssh-key-v1')
        fields, offset = [], len(b'openssh-key-v1\0')
        for _field in ('cipher', 'kdf', 'kdf options'):
            length = struct.unpack('>I', data[offset:offset + 4])[0]
            fields.append(data[offset + 4:offset + 4 + length])
            offset += 4 + length
        offset += 4  # number of keys
        length = struct.unpack('>I', data[offset:offset + 4])[0]
        blob = data[offset + 4:offset + 4 + length]
        key_type = blob[4:4 + struct.unpack('>I', blob[:4])[0]].decode('ascii')
    except (binascii.Error, ValueError, struct.error, UnicodeDecodeError):
        raise OptionError(option, 'an item is not a readable OpenSSH private key; write a new one with '
                                  '`ssh-keygen -t ed25519 -N "" -f <file>`')
    if fields[0] != b'none':
        raise OptionError(option, 'a host key is encrypted with a passphrase; the guest cannot use it: give an '
                                  'unencrypted key (ssh-keygen -N "")')
    if key_type not in _HOST_KEY_TYPES:
        raise OptionError(option, 'host keys of type %s are not supported; use ed25519, ecdsa or rsa' % key_type)
    return '%s %s' % (key_type, base64.b64encode(blob).decode('ascii'))


def cloud_init_ssh_keys(keys):
    """cloud-init's ``ssh_keys`` mapping for ``cloud_init.ssh_host_keys`` (private keys)."""
    result = {}
    for key in keys or ():
        public = host_public_key(key)
        name = _HOST_KEY_TYPES[public.split()[0]]
        if name + '_private' in result:
            raise OptionError('cloud_init.ssh_host_keys', 'two %s keys; give at most one key of each type' % name)
        result[name + '_private'] = key.strip() + '\n'
        result[name + '_public'] = public
    return result
