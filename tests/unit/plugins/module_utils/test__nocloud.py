# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NoCloud seed: which files the cloud_init option gives, what they say, and the cidata image that holds them.
How each part is made is tested with its module: test__iso9660, test__yaml_emitter, test__ssh_host_keys and
test__user_data_passwords; here, that the seed uses them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._iso9660 import build_iso
from ansible_collections.nestedkvm.stack.plugins.module_utils._nocloud import NoCloudSeed, seed_files, seed_iso

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB4Qm1pnHmdxNlSsIH9UcA4ff+SEmCmH2Q3xL3JhWzmf admin@lab'
OTHER_KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops@lab'

FULL = {
    'hostname': 'l1-node.lab.example',
    'ssh_authorized_keys': [KEY],
    'user_data': {'packages': ['qemu-kvm', 'libvirt-daemon-system'], 'package_update': True},
    'network_config': {'version': 2, 'ethernets': {'eth0': {'dhcp4': True}}},
}


def _yaml():
    return pytest.importorskip('yaml', reason='PyYAML (an ansible-core dependency) is needed to parse the output')


def test_the_seed_iso_is_the_cidata_image_of_its_files():
    assert seed_iso('l1', FULL) == build_iso(seed_files('l1', FULL), volume_id='cidata')


# --------------------------------------------------------------------------- determinism


def test_same_input_gives_identical_bytes():
    assert seed_iso('l1', FULL) == seed_iso('l1', dict(reversed(list(FULL.items()))))


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


def test_mapping_user_data_reads_back_as_given():
    # Which values YAML could misread is test__yaml_emitter's: here, that user-data is written by it.
    yaml = _yaml()
    value = {'on': 'no', 'mode': '0755', 'unicode': u'h\u00e9 \u2603', 'nel': u'a\x85b', 'numbers': [0, 1.5]}
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


@pytest.mark.parametrize('vendor_data', [
    {'chpasswd': {'list': ['root:hunter2']}},
    '#cloud-config\npassword: hunter2\n',
])
def test_vendor_data_is_refused_with_a_plain_text_password_as_user_data_is(vendor_data):
    with pytest.raises(OptionError) as refused:
        seed_files('l1', {'vendor_data': vendor_data})
    assert refused.value.details['option'] == 'cloud_init.vendor_data'
    assert 'hunter2' not in str(refused.value)


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


@pytest.mark.parametrize('user_data', [
    {'users': [{'name': 'a', 'passwd': 'hunter2'}]},
    '#cloud-config\nusers: [{name: a, passwd: hunter2}]\n',
])
def test_a_plain_text_password_given_as_a_mapping_or_as_text_is_refused(user_data):
    with pytest.raises(OptionError, match=r'cloud_init\.user_data: users\[0\]\.passwd') as refused:
        seed_files('vm', {'user_data': user_data})
    assert 'hunter2' not in str(refused.value)
