# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seed (the ``cidata`` CD-ROM) of a domain, from the modules' ``cloud_init`` option: which files
it holds and what they say. What it is made with lives apart: the ISO image (_iso9660), the YAML (_yaml_emitter),
the host keys (_ssh_host_keys) and the refusal of plain-text passwords (_user_data_passwords).

The instance-id changes with any byte of the seed, so cloud-init runs again exactly when the seed changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._iso9660 import build_iso
from ansible_collections.nestedkvm.stack.plugins.module_utils._ssh_host_keys import cloud_init_ssh_keys
from ansible_collections.nestedkvm.stack.plugins.module_utils._user_data_passwords import check_document
from ansible_collections.nestedkvm.stack.plugins.module_utils._yaml_emitter import check_plain_data, to_yaml

_HOSTNAME_LABEL = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
# cloud-init ignores a user-data part it cannot classify, so a string must start like one it knows:
# '#cloud-config', '#!', '#include', '#cloud-boothook', '## template: jinja' ... or a MIME message.
_RAW_USER_DATA_START = re.compile(r'^(#|content-type:|mime-version:|from )', re.IGNORECASE)


def _valid_hostname(name):
    if not isinstance(name, str) or not name or len(name) > 253:
        return False
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in name.split('.'))


def _encode(text, option):
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError as exc:
        raise OptionError(option, 'contains %r, which is not valid Unicode text (lone surrogate); '
                                  'remove it' % (exc.object[exc.start:exc.end],)) from None


class NoCloudSeed(object):
    """The NoCloud files for one domain, from the modules' ``cloud_init`` option.

    Keys (None means "not given", as AnsibleModule fills unset sub-options with None):

    ``hostname``
        meta-data ``local-hostname``; defaults to the domain name when that is a valid hostname.
    ``ssh_authorized_keys``
        list of public key lines for the image's default user. They are written to meta-data
        ``public-keys`` (which cloud-init applies whatever the user-data format, even a shell
        script) and, when ``user_data`` is a mapping, merged into its top-level
        ``ssh_authorized_keys`` (cloud-init's list for the default user). Keys for other users
        belong in that user's entry of ``user_data.users``.
    ``user_data`` / ``vendor_data``
        a mapping, rendered as ``#cloud-config`` (see _yaml_emitter.to_yaml), or a string passed through
        unchanged (``#cloud-config`` text, a ``#!`` script, a MIME multipart message...).
        Plain-text passwords (``password``, ``plain_text_passwd``, a ``passwd`` that is not a crypt(3)
        hash, ``chpasswd.list``, ``chpasswd.users`` not of type hash) are refused, in a mapping and in
        what cloud-init reads as configuration in a string (see _user_data_passwords), since the seed
        is readable by anyone who can read the volume.
    ``ssh_host_keys``
        OpenSSH private keys the guest uses as its SSH host keys (cloud-init ``ssh_keys``, with the
        public halves derived by _ssh_host_keys), so the controller can trust the guest's key before first
        contact. Needs ``user_data`` as a mapping or none.
    ``network_config``
        a network configuration mapping, version 1 or 2 (a top-level ``network:`` wrapper is
        removed, as older cloud-init releases only accept the bare form in NoCloud).

    ``instance-id`` is the domain name plus a hash of every other seed byte: stable while the
    input is unchanged, new (so cloud-init runs again) as soon as any of it changes.
    """

    def __init__(self, domain_name, cloud_init):
        if not isinstance(domain_name, str) or not domain_name:
            raise OptionError('name', 'the domain name must be a non-empty string')
        # Its keys and their types are the domain modules' cloud_init option (_domain_spec.OPTIONS), checked by the
        # argument spec before a seed is made.
        cloud_init = cloud_init or {}
        self.domain_name = domain_name
        self.hostname = self._hostname(cloud_init.get('hostname'), domain_name)
        self.ssh_authorized_keys = self._keys(cloud_init.get('ssh_authorized_keys'))
        host_keys = cloud_init.get('ssh_host_keys')
        if host_keys is not None and (isinstance(host_keys, str) or not isinstance(host_keys, (list, tuple))):
            raise OptionError('cloud_init.ssh_host_keys', 'must be a list of private keys')
        self.ssh_host_keys = cloud_init_ssh_keys(host_keys)
        user_data = self._document(cloud_init.get('user_data'), 'cloud_init.user_data')
        vendor_data = self._document(cloud_init.get('vendor_data'), 'cloud_init.vendor_data')
        network_config = self._network_config(cloud_init.get('network_config'))

        files = {}
        files['user-data'] = self._render_user_data(user_data)
        if vendor_data is not None:
            check_document(vendor_data, 'cloud_init.vendor_data')
            files['vendor-data'] = self._render_document(vendor_data, 'cloud_init.vendor_data')
        if network_config is not None:
            files['network-config'] = _encode(to_yaml(network_config), 'cloud_init.network_config')

        meta = {}
        if self.hostname is not None:
            meta['local-hostname'] = self.hostname
        if self.ssh_authorized_keys:
            meta['public-keys'] = list(self.ssh_authorized_keys)
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(('%s\x00%d\x00' % (name, len(files[name]))).encode('ascii'))
            digest.update(files[name])
        digest.update(to_yaml([domain_name, meta]).encode('utf-8'))
        safe_name = re.sub(r'[^A-Za-z0-9._-]+', '-', domain_name).strip('-') or 'domain'
        self.instance_id = 'iid-%s-%s' % (safe_name, digest.hexdigest()[:16])
        meta['instance-id'] = self.instance_id
        files['meta-data'] = _encode(to_yaml(meta), 'cloud_init.ssh_authorized_keys')
        self.files = files

    @staticmethod
    def _hostname(hostname, domain_name):
        if hostname is None:
            return domain_name if _valid_hostname(domain_name) else None
        if not isinstance(hostname, str):
            raise OptionError('cloud_init.hostname', 'must be a string, got a %s' % type(hostname).__name__)
        if not _valid_hostname(hostname):
            raise OptionError('cloud_init.hostname', '%r is not a valid hostname: use dot-separated labels of '
                                                     '1-63 letters, digits and inner hyphens (253 characters '
                                                     'at most, no trailing dot)' % (hostname,))
        return hostname

    @staticmethod
    def _keys(keys):
        option = 'cloud_init.ssh_authorized_keys'
        if keys is None:
            return []
        if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
            raise OptionError(option, 'must be a list of public key strings (one key per item), got a %s'
                                      % type(keys).__name__)
        result = []
        for index, key in enumerate(keys):
            if not isinstance(key, str):
                raise OptionError(option, 'item %d is a %s; each item must be one public key line as a string'
                                          % (index, type(key).__name__))
            key = key.strip()
            if not key:
                raise OptionError(option, 'item %d is empty; remove it or give a public key' % index)
            if 'PRIVATE KEY' in key:
                raise OptionError(option, 'item %d is a private key; give the public key (the .pub file) instead'
                                          % index)
            if '\n' in key or '\r' in key:
                raise OptionError(option, 'item %d spans several lines; give one key per list item' % index)
            if key not in result:
                result.append(key)
        return result

    @staticmethod
    def _document(value, option):
        if value is None:
            return None
        if isinstance(value, dict):
            check_plain_data(value, option)
            return value
        if isinstance(value, str):
            if value and not _RAW_USER_DATA_START.match(value):
                raise OptionError(option, 'a string must start the way cloud-init recognises, e.g. '
                                          "'#cloud-config', '#!' (script) or a MIME header, otherwise "
                                          'cloud-init silently ignores it; or give a mapping, which is '
                                          'rendered as #cloud-config')
            return value
        raise OptionError(option, 'must be a mapping (rendered as #cloud-config) or a string passed through '
                                  'unchanged, got a %s' % type(value).__name__)

    @staticmethod
    def _network_config(value):
        option = 'cloud_init.network_config'
        if value is None:
            return None
        if not isinstance(value, dict):
            raise OptionError(option, 'must be a mapping (network config version 1 or 2), got a %s'
                                      % type(value).__name__)
        if set(value) == {'network'} and isinstance(value['network'], dict):
            value = value['network']
        check_plain_data(value, option)
        if value.get('config') == 'disabled':
            return value
        if value.get('version') not in (1, 2):
            raise OptionError(option, "needs 'version: 1' or 'version: 2' at its top level (got %r); "
                                      "or use 'config: disabled' to turn networking off"
                                      % (value.get('version'),))
        return value

    @staticmethod
    def _render_document(value, option):
        if isinstance(value, str):
            return _encode(value, option)
        return _encode('#cloud-config\n' + to_yaml(value), option)

    def _render_user_data(self, user_data):
        option = 'cloud_init.user_data'
        if self.ssh_host_keys:
            if user_data is not None and not isinstance(user_data, dict):
                raise OptionError('cloud_init.ssh_host_keys', 'needs user_data as a mapping (or none), to add '
                                                              'ssh_keys to it; put the keys in your own user_data')
            if user_data and 'ssh_keys' in user_data:
                raise OptionError(option, 'ssh_keys is set here and by cloud_init.ssh_host_keys: use one')
            user_data = dict(user_data or {}, ssh_keys=self.ssh_host_keys)
        check_document(user_data, option)
        if isinstance(user_data, dict):
            if self.ssh_authorized_keys:
                existing = user_data.get('ssh_authorized_keys') or []
                if isinstance(existing, str) or not isinstance(existing, (list, tuple)):
                    raise OptionError(option, 'ssh_authorized_keys must be a list when cloud_init.'
                                              'ssh_authorized_keys is also given (they are merged)')
                merged = list(existing) + [k for k in self.ssh_authorized_keys if k not in existing]
                user_data = dict(user_data, ssh_authorized_keys=merged)
            return self._render_document(user_data, option)
        if user_data is None:
            # NoCloud needs a user-data file even when there is nothing to say; the keys still reach
            # the default user through meta-data public-keys.
            return b'#cloud-config\n{}\n'
        return self._render_document(user_data, option)

    def iso(self, mtime=None):
        return build_iso(self.files, volume_id='cidata', mtime=mtime)


def seed_files(domain_name, cloud_init):
    """Map of NoCloud file name to bytes for ``domain_name`` (raises OptionError on bad input)."""
    return NoCloudSeed(domain_name, cloud_init).files


def seed_iso(domain_name, cloud_init):
    """The ``cidata`` ISO image (bytes) to attach to ``domain_name`` as a CD-ROM."""
    return NoCloudSeed(domain_name, cloud_init).iso()
