# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NoCloud seed: files from the cloud_init option, and an ISO that real readers accept."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._nocloud import (
    SECTOR,
    NoCloudSeed,
    build_iso,
    host_public_key,
    seed_files,
    seed_iso,
    to_yaml,
)

ISOINFO = shutil.which('isoinfo')
BLKID = shutil.which('blkid') or ('/sbin/blkid' if os.path.exists('/sbin/blkid') else None)
SEVEN_Z = shutil.which('7z') or shutil.which('7za')

needs_isoinfo = pytest.mark.skipif(ISOINFO is None, reason='isoinfo not installed (Debian package genisoimage)')

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB4Qm1pnHmdxNlSsIH9UcA4ff+SEmCmH2Q3xL3JhWzmf admin@lab'
OTHER_KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops@lab'

FULL = {
    'hostname': 'l1-node.lab.example',
    'ssh_authorized_keys': [KEY],
    'user_data': {'packages': ['qemu-kvm', 'libvirt-daemon-system'], 'package_update': True},
    'network_config': {'version': 2, 'ethernets': {'eth0': {'dhcp4': True}}},
}


def _run(*args):
    return subprocess.run(args, check=True, capture_output=True).stdout


@pytest.fixture
def write_iso(tmp_path):
    def write(data, name='seed.iso'):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)
    return write


def _yaml():
    return pytest.importorskip('yaml', reason='PyYAML (an ansible-core dependency) is needed to parse the output')


# --------------------------------------------------------------------------- ISO read by real tools


@needs_isoinfo
def test_isoinfo_sees_label_joliet_and_exact_contents(write_iso):
    files = seed_files('l1', FULL)
    path = write_iso(seed_iso('l1', FULL))

    info = _run(ISOINFO, '-d', '-i', path).decode()
    assert 'Volume id: cidata' in info
    assert 'Joliet with UCS level 3 found' in info
    assert 'Logical block size is: 2048' in info
    assert 'Volume size is: %d' % (os.path.getsize(path) // SECTOR) in info

    listing = _run(ISOINFO, '-J', '-f', '-i', path).decode().split()
    assert sorted(listing) == ['/meta-data', '/network-config', '/user-data']
    for name, data in files.items():
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == data

    # Readers without Joliet get the 8.3 aliases with the same bytes.
    primary = _run(ISOINFO, '-f', '-i', path).decode().split()
    assert sorted(primary) == ['/META_DAT.;1', '/NETWORK_.;1', '/USER_DAT.;1']
    assert _run(ISOINFO, '-x', '/USER_DAT.;1', '-i', path) == files['user-data']


@needs_isoinfo
@pytest.mark.parametrize('size', [0, 1, SECTOR - 1, SECTOR, SECTOR + 1, 5000, 70000, 3 * 1024 * 1024 + 7])
def test_multi_sector_files_round_trip(write_iso, size):
    # Varying bytes, so a wrong extent or a truncated tail cannot go unnoticed.
    payload = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    payload = payload[:size]
    files = {'user-data': payload, 'meta-data': b'instance-id: x\n', 'vendor-data': b'#cloud-config\n{}\n'}
    path = write_iso(build_iso(files))
    for name, data in files.items():
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == data
    listing = _run(ISOINFO, '-J', '-l', '-i', path).decode()
    assert ' %d ' % size in listing


@needs_isoinfo
def test_directory_spanning_several_sectors(write_iso):
    # 64-character Joliet names make ~160-byte records: 60 of them need a multi-sector directory,
    # which exercises the rule that a record never straddles a sector boundary.
    files = dict(('f%02d-' % i + 'x' * 60, ('file %d\n' % i).encode()) for i in range(60))
    path = write_iso(build_iso(files))
    listing = _run(ISOINFO, '-J', '-f', '-i', path).decode().split()
    assert sorted(listing) == sorted('/' + name for name in files)
    for name in ('f00-' + 'x' * 60, 'f37-' + 'x' * 60, 'f59-' + 'x' * 60):
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == files[name]
    primary = _run(ISOINFO, '-f', '-i', path).decode().split()
    assert len(set(primary)) == 60  # the 8.3 aliases collide and must have been made unique


@pytest.mark.skipif(BLKID is None, reason='blkid (util-linux) not installed')
def test_blkid_reports_cidata_label(write_iso):
    path = write_iso(seed_iso('l1', FULL))
    assert _run(BLKID, '-p', '-o', 'value', '-s', 'LABEL', path).decode().strip() == 'cidata'
    assert _run(BLKID, '-p', '-o', 'value', '-s', 'TYPE', path).decode().strip() == 'iso9660'


@pytest.mark.skipif(SEVEN_Z is None, reason='7z (p7zip) not installed')
def test_7z_extracts_same_bytes(write_iso, tmp_path):
    files = seed_files('l1', FULL)
    path = write_iso(seed_iso('l1', FULL))
    out = tmp_path / 'out'
    _run(SEVEN_Z, 'x', '-y', '-o%s' % out, path)
    for name, data in files.items():
        assert (out / name).read_bytes() == data


def test_linux_kernel_mounts_it(write_iso, tmp_path):
    if os.name != 'posix' or os.geteuid() != 0:
        pytest.skip('mounting a loop device needs root')
    if not os.path.exists('/dev/loop-control'):
        pytest.skip('no loop devices (/dev/loop-control missing)')
    files = seed_files('l1', FULL)
    path = write_iso(seed_iso('l1', FULL))
    mnt = tmp_path / 'mnt'
    mnt.mkdir()
    mount = subprocess.run(['mount', '-o', 'loop,ro', path, str(mnt)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, check=False)
    if mount.returncode != 0:
        pytest.skip('kernel refused the loop mount (no iso9660 driver or no privilege in this '
                    'container?): %s' % mount.stdout.decode(errors='replace').strip())
    try:
        assert sorted(os.listdir(str(mnt))) == sorted(files)
        for name, data in files.items():
            assert (mnt / name).read_bytes() == data
    finally:
        subprocess.run(['umount', str(mnt)], check=True)


# --------------------------------------------------------------------------- ISO structure


def test_volume_descriptors_carry_the_label():
    image = seed_iso('l1', FULL)
    pvd, svd, term = (image[s * SECTOR:(s + 1) * SECTOR] for s in (16, 17, 18))
    assert pvd[:7] == b'\x01CD001\x01'
    assert svd[:7] == b'\x02CD001\x01'
    assert term[:7] == b'\xffCD001\x01'
    assert pvd[40:72] == b'cidata'.ljust(32)
    assert svd[40:72].decode('utf-16-be').rstrip() == 'cidata'
    assert svd[88:91] == b'%/E'
    assert struct.unpack('<I', pvd[80:84])[0] * SECTOR == len(image)
    assert image[:16 * SECTOR] == b'\x00' * 16 * SECTOR


def test_text_contents_are_utf8():
    image = build_iso({'user-data': u'#!/bin/sh\necho h\u00e9\n', 'meta-data': b''})
    assert u'#!/bin/sh\necho h\u00e9\n'.encode('utf-8') in image


@pytest.mark.parametrize('name', ['', 'a/b', 'semi;colon', 'x' * 65, 'tab\tname', '..', u'\U0001f600'])
def test_names_joliet_cannot_store_are_refused(name):
    with pytest.raises(ValueError):
        build_iso({name: b'x'})


@pytest.mark.parametrize('volume_id', ['', 'has space', 'x' * 17])
def test_bad_volume_id_is_refused(volume_id):
    with pytest.raises(ValueError):
        build_iso({'user-data': b''}, volume_id=volume_id)


# --------------------------------------------------------------------------- determinism


def test_same_input_gives_identical_bytes():
    assert seed_iso('l1', FULL) == seed_iso('l1', dict(reversed(list(FULL.items()))))
    files = {'user-data': b'a', 'meta-data': b'b', 'network-config': b'c'}
    reordered = dict(reversed(list(files.items())))
    assert build_iso(files) == build_iso(reordered)


def test_timestamp_is_fixed_unless_given():
    files = {'user-data': b'a', 'meta-data': b'b'}
    assert b'1980010100000000' in build_iso(files)
    stamped = build_iso(files, mtime=datetime.datetime(2024, 5, 6, 7, 8, 9))
    assert b'2024050607080900' in stamped
    assert stamped != build_iso(files)


@pytest.mark.parametrize('change', [
    {'hostname': 'other'},
    {'ssh_authorized_keys': [KEY, OTHER_KEY]},
    {'user_data': {'packages': ['qemu-kvm']}},
    {'network_config': {'version': 2, 'ethernets': {'eth0': {'dhcp4': False}}}},
])
def test_changed_input_changes_seed_and_instance_id(change):
    changed = dict(FULL, **change)
    assert seed_iso('l1', changed) != seed_iso('l1', FULL)
    assert NoCloudSeed('l1', changed).instance_id != NoCloudSeed('l1', FULL).instance_id


def test_instance_id_is_stable_and_names_the_domain():
    first = NoCloudSeed('l1', FULL).instance_id
    assert first == NoCloudSeed('l1', dict(FULL)).instance_id
    assert first.startswith('iid-l1-')
    assert NoCloudSeed('l2', FULL).instance_id.startswith('iid-l2-')
    assert NoCloudSeed('weird name/ü', {}).instance_id.startswith('iid-weird-name-')


# --------------------------------------------------------------------------- seed files


def test_meta_data_content():
    meta = _yaml().safe_load(seed_files('l1', FULL)['meta-data'])
    assert meta == {
        'instance-id': NoCloudSeed('l1', FULL).instance_id,
        'local-hostname': 'l1-node.lab.example',
        'public-keys': [KEY],
    }


def test_hostname_defaults_to_a_valid_domain_name():
    yaml = _yaml()
    assert yaml.safe_load(seed_files('l1', {})['meta-data'])['local-hostname'] == 'l1'
    assert 'local-hostname' not in yaml.safe_load(seed_files('lab_l1', {})['meta-data'])


def test_minimal_seed_has_user_data_and_meta_data_only():
    files = seed_files('l1', None)
    assert sorted(files) == ['meta-data', 'user-data']
    assert files['user-data'] == b'#cloud-config\n{}\n'
    assert seed_files('l1', dict.fromkeys(('hostname', 'user_data', 'network_config'))) == files


def test_dict_user_data_is_cloud_config_json_and_keys_are_merged():
    user_data = {'ssh_authorized_keys': [OTHER_KEY, KEY], 'users': ['default'], 'runcmd': [['echo', 'hi']]}
    text = seed_files('l1', {'user_data': user_data, 'ssh_authorized_keys': [KEY, KEY + ' ']})['user-data']
    assert text.startswith(b'#cloud-config\n{')
    parsed = _yaml().safe_load(text)
    assert parsed['ssh_authorized_keys'] == [OTHER_KEY, KEY]  # no duplicate, given order kept
    assert parsed['users'] == ['default']
    assert user_data['ssh_authorized_keys'] == [OTHER_KEY, KEY]  # caller's dict untouched


def test_yaml_rendering_round_trips_tricky_values():
    yaml = _yaml()
    value = {
        'on': 'no', 'mode': '0755', 'colon': 'a: b', 'hash': '# not a comment', 'empty': '',
        'multiline': 'line1\nline2\n', 'tab': 'a\tb', 'unicode': u'h\u00e9 \u2603 \U0001f600',
        'nel': u'a\x85b', 'ls': u'a\u2028b', 'del': u'a\x7fb', 'nul': u'a\x00b',
        'numbers': [0, -1, 1.5, 12345678901234567890], 'flags': [True, False, None],
        'nested': {'list': [{'a': 1}], 'empty_list': [], 'empty_map': {}},
    }
    assert yaml.safe_load(to_yaml(value)) == value
    rendered = seed_files('l1', {'user_data': value})['user-data']
    assert yaml.safe_load(rendered) == value


@pytest.mark.parametrize('raw', [
    '#!/bin/sh\necho hello > /tmp/x\n',
    '#cloud-config\npackages: [htop]\n',
    'Content-Type: multipart/mixed; boundary="==="\nMIME-Version: 1.0\n\n--===--\n',
    '',
])
def test_raw_string_user_data_passes_through_unchanged(raw):
    files = seed_files('l1', {'user_data': raw, 'ssh_authorized_keys': [KEY]})
    assert files['user-data'] == raw.encode('utf-8')
    # The keys still reach the default user through the datasource's meta-data.
    assert _yaml().safe_load(files['meta-data'])['public-keys'] == [KEY]


def test_vendor_data_and_wrapped_network_config():
    files = seed_files('l1', {
        'vendor_data': {'runcmd': ['true']},
        'network_config': {'network': {'version': 1, 'config': [{'type': 'physical', 'name': 'eth0'}]}},
    })
    yaml = _yaml()
    assert files['vendor-data'].startswith(b'#cloud-config\n')
    assert yaml.safe_load(files['vendor-data']) == {'runcmd': ['true']}
    assert yaml.safe_load(files['network-config']) == {'version': 1, 'config': [{'type': 'physical', 'name': 'eth0'}]}
    assert yaml.safe_load(seed_files('l1', {'network_config': {'config': 'disabled'}})['network-config']) == {
        'config': 'disabled'}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize('cloud_init, option, words', [
    ('hostname: x', 'cloud_init', 'mapping'),
    ({'hostnmae': 'x'}, 'cloud_init', 'hostnmae'),
    ({'hostname': 'bad_name'}, 'cloud_init.hostname', 'not a valid hostname'),
    ({'hostname': '-lead.example'}, 'cloud_init.hostname', 'not a valid hostname'),
    ({'hostname': 'trailing.'}, 'cloud_init.hostname', 'not a valid hostname'),
    ({'hostname': 'a' * 64}, 'cloud_init.hostname', '1-63'),
    ({'hostname': 42}, 'cloud_init.hostname', 'must be a string'),
    ({'ssh_authorized_keys': KEY}, 'cloud_init.ssh_authorized_keys', 'list'),
    ({'ssh_authorized_keys': [KEY, 7]}, 'cloud_init.ssh_authorized_keys', 'item 1'),
    ({'ssh_authorized_keys': ['  ']}, 'cloud_init.ssh_authorized_keys', 'empty'),
    ({'ssh_authorized_keys': [KEY + '\n' + OTHER_KEY]}, 'cloud_init.ssh_authorized_keys', 'one key per'),
    ({'ssh_authorized_keys': ['-----BEGIN OPENSSH PRIVATE KEY-----']}, 'cloud_init.ssh_authorized_keys',
     'public key'),
    ({'user_data': ['packages']}, 'cloud_init.user_data', 'mapping'),
    ({'user_data': 'packages: [htop]\n'}, 'cloud_init.user_data', '#cloud-config'),
    ({'user_data': {1: 'x'}}, 'cloud_init.user_data', 'keys must be strings'),
    ({'user_data': {'write_files': [{'content': b'x'}]}}, 'cloud_init.user_data', 'write_files[0].content'),
    ({'user_data': {'ratio': 1e-05}}, 'cloud_init.user_data', 'ratio'),
    ({'user_data': {'ratio': float('inf')}}, 'cloud_init.user_data', 'quoted string'),
    ({'user_data': {'x': {1, 2}}}, 'cloud_init.user_data', 'set'),
    ({'user_data': {'ssh_authorized_keys': KEY}, 'ssh_authorized_keys': [OTHER_KEY]}, 'cloud_init.user_data',
     'must be a list'),
    ({'user_data': u'#!/bin/sh\n\udc80'}, 'cloud_init.user_data', 'surrogate'),
    ({'vendor_data': 3}, 'cloud_init.vendor_data', 'mapping'),
    ({'network_config': 'version: 2'}, 'cloud_init.network_config', 'mapping'),
    ({'network_config': {'ethernets': {}}}, 'cloud_init.network_config', 'version'),
    ({'network_config': {'version': 3}}, 'cloud_init.network_config', 'version'),
])
def test_validation_names_the_option(cloud_init, option, words):
    with pytest.raises(OptionError) as caught:
        seed_files('l1', cloud_init)
    assert caught.value.details == {'option': option}
    assert caught.value.msg.startswith(option + ': ')
    assert words in caught.value.msg


@pytest.mark.parametrize('value', [1.5e-07, float('inf')])
def test_a_number_yaml_would_misread_is_refused_without_repeating_it(value):
    # Any value of user_data can be a secret (a Wi-Fi key, a token): the refusal names where it is, not what.
    with pytest.raises(OptionError, match='write_files') as caught:
        seed_files('l1', {'user_data': {'write_files': [{'path': '/etc/token', 'content': value}]}})
    assert repr(value) not in caught.value.msg and 'e-07' not in caught.value.msg


# --------------------------------------------------------------------------- host keys, passwords

SSH_KEYGEN = shutil.which('ssh-keygen')


@pytest.fixture
def keygen(tmp_path):
    """keygen(type, passphrase='') -> (private key text, public key line as ssh-keygen -y prints it)."""
    if not SSH_KEYGEN:
        pytest.skip('ssh-keygen (openssh-client) not installed')

    def make(key_type, passphrase=''):
        path = str(tmp_path / key_type)
        subprocess.run([SSH_KEYGEN, '-q', '-t', key_type, '-N', passphrase, '-C', 'c', '-f', path], check=True)
        with open(path) as private:
            text = private.read()
        with open(path + '.pub') as public:
            return text, ' '.join(public.read().split()[:2])
    return make


@pytest.mark.parametrize('key_type', ['ed25519', 'ecdsa', 'rsa'])
def test_the_public_half_of_a_host_key_is_what_ssh_keygen_says(keygen, key_type):
    private, public = keygen(key_type)
    assert host_public_key(private) == public


def test_host_keys_become_cloud_init_ssh_keys(keygen):
    ed25519, ed25519_public = keygen('ed25519')
    rsa, rsa_public = keygen('rsa')
    user_data = seed_files('vm', {'ssh_host_keys': [ed25519, rsa], 'user_data': {'users': ['default']}})['user-data']
    text = user_data.decode()
    assert '"ed25519_public": "%s"' % ed25519_public in text and '"rsa_public": "%s"' % rsa_public in text
    assert '"ed25519_private": "-----BEGIN OPENSSH PRIVATE KEY-----\\n' in text
    assert '"users": [' in text


@pytest.mark.parametrize('keys, user_data, message', [
    (['not a key'], None, 'must be an OpenSSH private key'),
    (['-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----'], None, 'not a readable'),
    ('one string', None, 'must be a list'),
    (None, '#!/bin/sh\necho hi\n', 'needs user_data as a mapping'),
    (None, {'ssh_keys': {}}, 'ssh_keys is set here and by cloud_init.ssh_host_keys'),
])
def test_bad_host_keys_name_the_option(keygen, keys, user_data, message):
    if keys is None:
        keys = [keygen('ed25519')[0]]
    cloud_init = {'ssh_host_keys': keys}
    if user_data is not None:
        cloud_init['user_data'] = user_data
    with pytest.raises(OptionError, match=message):
        seed_files('vm', cloud_init)


def test_an_encrypted_or_second_host_key_of_a_type_is_refused(keygen):
    with pytest.raises(OptionError, match='encrypted with a passphrase'):
        seed_files('vm', {'ssh_host_keys': [keygen('ed25519', passphrase='secret')[0]]})
    key = keygen('ecdsa')[0]
    with pytest.raises(OptionError, match='two ecdsa keys'):
        seed_files('vm', {'ssh_host_keys': [key, key]})


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
        seed_files('vm', {'user_data': user_data})
    assert where in str(refused.value) and 'hunter2' not in str(refused.value)


def test_hashed_passwords_pass():
    hashed = '$6$salt$' + 'x' * 86
    files = seed_files('vm', {'user_data': {'users': [{'name': 'a', 'passwd': hashed}, {'name': 'b', 'passwd': '!'},
                                                      {'name': 'c', 'passwd': '$y$j9T$salt$' + 'y' * 43}],
                                            'chpasswd': {'users': [{'name': 'root', 'password': hashed,
                                                                    'type': 'hash'}]}}})
    assert hashed in files['user-data'].decode()


# --------------------------------------------------------------------------- passwords in user-data given as text


def yaml_dump(value):
    import yaml  # PyYAML comes with ansible-core, which runs these tests

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
        seed_files('vm', {'user_data': _cloud_config(user_data)})
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
        seed_files('vm', {'user_data': user_data})
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
    assert seed_files('vm', {'user_data': user_data})['user-data'] == user_data.encode()


@pytest.mark.parametrize('user_data, message', [
    ('#cloud-config\nusers: [{name: a, passwd: hunter2\n', r'not valid YAML \(line \d+, column \d+\)'),
    ('#cloud-config\n- hunter2\n', 'is a list, not a mapping'),
    ('#cloud-config-archive\nhunter2: x\n', 'must be a list of parts'),
])
def test_a_cloud_config_string_cloud_init_could_not_read_is_refused_without_quoting_it(user_data, message):
    with pytest.raises(OptionError, match=message) as refused:
        seed_files('vm', {'user_data': user_data})
    assert str(refused.value).startswith('cloud_init.user_data') and 'hunter2' not in str(refused.value)


# A host without PyYAML: the import is blocked in a fresh interpreter (this venv has PyYAML, as ansible-core needs
# it), so the module's real fallback runs. Each case prints the refusal, or OK.
_WITHOUT_YAML = r'''
import json, sys
sys.modules['yaml'] = None
from ansible_collections.nestedkvm.stack.plugins.module_utils import _nocloud
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
results = []
for user_data in json.loads(sys.stdin.read()):
    try:
        _nocloud.seed_files('vm', {'user_data': user_data})
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
