# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No plain-text password in what cloud-init reads as configuration: a mapping, a #cloud-config string, every part
of a MIME message cloud-init reads and every entry of a #cloud-config-archive; without PyYAML, the text itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._user_data_passwords import (
    check_hashed_passwords, check_user_data_text)

yaml = pytest.importorskip('yaml', reason='PyYAML (an ansible-core dependency) writes the test cases')

PLAIN_TEXT_PASSWORDS = [
    ({'password': 'hunter2'}, "'password' sets a plain-text password"),
    ({'users': [{'name': 'a', 'plain_text_passwd': 'hunter2'}]}, 'users[0].plain_text_passwd'),
    ({'chpasswd': {'list': 'root:hunter2'}}, 'chpasswd.list'),
    ({'chpasswd': {'users': [{'name': 'root', 'password': 'hunter2'}]}}, 'chpasswd.users[0]'),
    ({'chpasswd': {'list': ['root:hunter2']}}, 'chpasswd.list'),
    ({'users': ['default', {'name': 'a', 'passwd': 'hunter2'}]}, 'users[1].passwd'),
    ({'users': [{'name': 'a', 'passwd': '$6$hunter2'}]}, 'users[0].passwd'),
    ({'users': [{'name': 'a', 'passwd': '$6$salt$hunter2\n'}]}, 'users[0].passwd'),
    ({'system_info': {'default_user': {'name': 'a', 'passwd': 'hunter2'}}}, 'system_info.default_user.passwd'),
    ({'system_info': {'default_user': {'plain_text_passwd': 'hunter2'}}},
     'system_info.default_user.plain_text_passwd'),
    ({'write_files': [{'path': '/x', 'content': 'x'}], 'merge': {'plain_text_passwd': 'hunter2'}},
     'merge.plain_text_passwd'),
    # cloud-init also reads users as a {name: settings} mapping, the old top-level 'user', keys written with
    # hyphens or spaces around them (it normalises them), and hashed_passwd, which must be a hash as well.
    ({'users': {'a': {'passwd': 'hunter2'}}}, 'users.a.passwd'),
    ({'user': {'name': 'a', 'passwd': 'hunter2'}}, 'user.passwd'),
    ({'users': [{'name': 'a', 'plain-text-passwd': 'hunter2'}]}, 'users[0].plain-text-passwd'),
    ({'users': [{'name': 'a', ' passwd ': 'hunter2'}]}, "users[0]. passwd "),
    ({'users': [{'name': 'a', 'hashed_passwd': 'hunter2'}]}, 'users[0].hashed_passwd'),
]


@pytest.mark.parametrize('user_data, where', PLAIN_TEXT_PASSWORDS)
def test_plain_text_passwords_are_refused(user_data, where):
    with pytest.raises(OptionError, match=r'cloud_init\.user_data') as refused:
        check_hashed_passwords(user_data)
    assert where in str(refused.value) and 'hunter2' not in str(refused.value)


def test_hashed_passwords_pass():
    hashed = '$6$salt$' + 'x' * 86
    check_hashed_passwords({'users': [{'name': 'a', 'passwd': hashed}, {'name': 'b', 'passwd': '!'},
                                      {'name': 'c', 'passwd': '$y$j9T$salt$' + 'y' * 43}],
                            'chpasswd': {'users': [{'name': 'root', 'password': hashed, 'type': 'hash'}]}})


# --------------------------------------------------------------------------- passwords in user-data given as text


def yaml_dump(value):
    return yaml.safe_dump(value, default_flow_style=False)


def _cloud_config(mapping):
    return '#cloud-config\n' + yaml_dump(mapping)


def _mime(*parts):
    """A MIME multi-part message as cloud-init's make-mime writes one: (content type, text, transfer encoding)."""
    boundary = '==nk=='
    lines = ['Content-Type: multipart/mixed; boundary="%s"' % boundary, 'MIME-Version: 1.0', '']
    for content_type, text, encoding in parts:
        if encoding == 'base64':
            text = base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()
        lines += ['--' + boundary, 'Content-Type: %s' % content_type, 'MIME-Version: 1.0',
                  'Content-Transfer-Encoding: %s' % encoding, '', text]
    return '\n'.join([*lines, '--%s--' % boundary, ''])


@pytest.mark.parametrize('user_data, where', PLAIN_TEXT_PASSWORDS)
def test_plain_text_passwords_in_a_cloud_config_string_are_refused(user_data, where):
    with pytest.raises(OptionError, match=r'cloud_init\.user_data') as refused:
        check_user_data_text(_cloud_config(user_data))
    assert where in str(refused.value) and 'hunter2' not in str(refused.value)


PLAIN = {'users': [{'name': 'a', 'passwd': 'hunter2'}]}


@pytest.mark.parametrize('user_data, where', [
    # What cloud-init reads in a multi-part message: a declared text/cloud-config part, a text/plain part it
    # classifies by its first line, a gzip part, a #cloud-config-archive and its entries (without a type or a
    # recognised start, an entry is cloud-config).
    (_mime(('text/x-shellscript', '#!/bin/sh\necho hi\n', '7bit'), ('text/cloud-config', yaml_dump(PLAIN), 'base64')),
     'MIME part 2: users[0].passwd'),
    (_mime(('text/plain', '#Cloud-Config\n' + yaml_dump(PLAIN), 'quoted-printable')), 'MIME part 1: users[0].passwd'),
    (_mime(('application/x-gzip', gzip.compress(_cloud_config(PLAIN).encode()), 'base64')), 'MIME part 1: users[0].passwd'),
    ('#cloud-config-archive\n' + yaml_dump([{'type': 'text/cloud-config', 'content': yaml_dump(PLAIN)}]),
     'archive entry 1: users[0].passwd'),
    ('#cloud-config-archive\n' + yaml_dump(['#!/bin/sh\necho hi\n', yaml_dump({'chpasswd': {'list': 'a:hunter2'}})]),
     'archive entry 2: chpasswd.list'),
    (_mime(('text/cloud-config-archive', yaml_dump([_cloud_config(PLAIN)]), '7bit')),
     'MIME part 1, archive entry 1: users[0].passwd'),
])
def test_plain_text_passwords_in_every_part_cloud_init_reads_are_refused(user_data, where):
    with pytest.raises(OptionError, match=r'cloud_init\.user_data') as refused:
        check_user_data_text(user_data)
    assert where in str(refused.value) and 'hunter2' not in str(refused.value)


@pytest.mark.parametrize('user_data', [
    # Programs and what the guest fetches or renders itself are passed through unchecked (docs/security.md).
    '#!/bin/sh\necho root:hunter2 | chpasswd\n',
    '#cloud-boothook\necho root:hunter2 | chpasswd\n',
    '#include\nhttps://config.example.com/passwd\n',
    '## template: jinja\n#cloud-config\npassword: {{ ds.meta_data.hunter2 }}\n',
    _mime(('text/x-shellscript', '#!/bin/sh\nchpasswd <<EOF\nroot:hunter2\nEOF\n', '7bit')),
    # Hashes, locks and lock_passwd are no plain-text passwords.
    _cloud_config({'users': [{'name': 'a', 'passwd': '$6$salt$' + 'x' * 86, 'lock_passwd': True}],
                   'chpasswd': {'users': [{'name': 'root', 'password': '$6$salt$' + 'x' * 86, 'type': 'hash'}]}}),
    '#cloud-config\n',
])
def test_what_carries_no_plain_text_password_cloud_init_reads_passes(user_data):
    assert check_user_data_text(user_data) is None


@pytest.mark.parametrize('user_data, message', [
    ('#cloud-config\nusers: [{name: a, passwd: hunter2\n', r'not valid YAML \(line \d+, column \d+\)'),
    ('#cloud-config\n- hunter2\n', 'is a list, not a mapping'),
    ('#cloud-config-archive\nhunter2: x\n', 'must be a list of parts'),
])
def test_a_cloud_config_string_cloud_init_could_not_read_is_refused_without_quoting_it(user_data, message):
    with pytest.raises(OptionError, match=message) as refused:
        check_user_data_text(user_data)
    assert str(refused.value).startswith('cloud_init.user_data') and 'hunter2' not in str(refused.value)


# A host without PyYAML: the import is blocked in a fresh interpreter (this venv has PyYAML, as ansible-core needs
# it), so the module's real fallback runs. Each case prints the refusal, or OK.
_WITHOUT_YAML = r'''
import json, sys
sys.modules['yaml'] = None
from ansible_collections.nestedkvm.stack.plugins.module_utils._user_data_passwords import check_user_data_text
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
results = []
for user_data in json.loads(sys.stdin.read()):
    try:
        check_user_data_text(user_data)
        results.append('OK')
    except OptionError as exc:
        results.append(str(exc))
print(json.dumps(results))
'''


def test_without_pyyaml_a_string_that_could_hold_a_password_is_refused_and_says_how_to_check_it():
    hashed = '$6$salt$' + 'x' * 86
    cases = {
        _cloud_config(PLAIN): 'refused',
        _cloud_config({'users': [{'name': 'a', 'passwd': hashed}]}): 'refused',  # cannot tell a hash without YAML
        '#cloud-config\nusers: [{name: a, "pass\\x77d": hunter2}]\n': 'refused',  # an escape can spell the key
        _mime(('text/cloud-config', yaml_dump({'chpasswd': {'list': 'a:hunter2'}}), 'base64')): 'refused',
        _cloud_config({'packages': ['qemu-kvm'], 'users': [{'name': 'a', 'lock_passwd': True}]}): 'OK',
        '#!/bin/sh\necho root:hunter2 | chpasswd\n': 'OK',
    }
    run = subprocess.run([sys.executable, '-c', _WITHOUT_YAML], input=json.dumps(list(cases)), capture_output=True,
                         text=True, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    for (user_data, expected), result in zip(cases.items(), json.loads(run.stdout)):
        if expected == 'OK':
            assert result == 'OK', user_data
        else:
            assert result.startswith('cloud_init.user_data') and 'PyYAML' in result and 'python3-yaml' in result
            assert 'hunter2' not in result and hashed not in result
