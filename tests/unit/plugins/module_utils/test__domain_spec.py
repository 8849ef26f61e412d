"""_domain_spec: the option table and what is derived from it (each module's argument_spec, l2_domain's profile
choices, the required_if rules), checked against what the modules document; and the validation of options into a
DomainSpec, before any libvirt look-up (only a HostCapabilities, as libvirt would describe a host, goes in)."""

import copy
import json
import os
import subprocess

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain_spec
from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import (
    GUEST_PROFILES, LEVEL_OPTIONS, OPTIONS, PROFILES, DomainSpec, domain_argument_spec, module_profile)
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

MODULES = {1: 'nestedkvm.stack.l1_domain', 2: 'nestedkvm.stack.l2_domain'}
# What libvirt's test driver reports, as a HostCapabilities: no x86_64 guest types, so nothing to check them by.
TEST_HOST = HostCapabilities(set(), 'intel', set())


@pytest.fixture(scope='module')
def documented():
    """Each domain module's options as ansible-doc shows them to users (its own and the doc fragments' merged)."""
    run = subprocess.run(['ansible-doc', '--json', '-t', 'module', *MODULES.values()], check=True,
                         capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    docs = json.loads(run.stdout)
    return {level: docs[name]['doc']['options'] for level, name in MODULES.items()}


def disagreements(doc, spec, where=''):
    """Where the documented options ``doc`` and an argument_spec differ in what AnsibleModule enforces."""
    found = []
    for name in sorted(set(doc) | set(spec)):
        here = where + name
        if name not in spec:
            found.append('%s: documented, not in the argument spec' % here)
            continue
        if name not in doc:
            found.append('%s: in the argument spec, not documented' % here)
            continue
        documented, declared = doc[name], spec[name]
        for key, default in (('type', 'str'), ('elements', None), ('choices', None), ('default', None),
                             ('required', False)):
            if documented.get(key, default) != declared.get(key, default):
                found.append('%s: %s is %r in the documentation, %r in the argument spec'
                             % (here, key, documented.get(key, default), declared.get(key, default)))
        found += disagreements(documented.get('suboptions', {}), declared.get('options', {}), here + '.')
    return found


@pytest.mark.parametrize('level', sorted(MODULES))
def test_the_documentation_agrees_with_the_argument_spec(documented, level):
    assert disagreements(documented[level], domain_argument_spec(level)) == []


@pytest.mark.parametrize('mutate, says', [
    (lambda spec: spec['timeout'].update(type='str'), "timeout: type is 'int' in the documentation, 'str'"),
    (lambda spec: spec['machine']['choices'].append('microvm'), 'machine: choices'),
    (lambda spec: spec['state'].update(default='present'), 'state: default'),
    (lambda spec: spec['disks']['options']['size'].update(required=True), 'disks.size: required'),
    (lambda spec: spec['networks']['options']['forwards']['options'].pop('protocol'),
     'networks.forwards.protocol: documented, not in the argument spec'),
    (lambda spec: spec['access']['options'].update(via=dict(type='str')), 'access.via: in the argument spec, not'),
    (lambda spec: spec.pop('cpu_topology'), 'cpu_topology: documented, not in the argument spec'),
])
def test_a_disagreement_is_found(documented, mutate, says):
    spec = copy.deepcopy(domain_argument_spec(1))
    mutate(spec)
    found = disagreements(documented[1], spec)
    assert len(found) == 1 and found[0].startswith(says), found


def test_the_argument_spec_holds_only_what_ansible_module_knows():
    def keys(spec):
        for option in spec.values():
            yield from option
            yield from keys(option.get('options', {}))
    known = {'type', 'elements', 'choices', 'default', 'required', 'options', 'no_log'}
    for level in LEVEL_OPTIONS:
        assert set(keys(domain_argument_spec(level))) <= known


def test_l2_domain_offers_every_profile_but_the_l1s():
    assert domain_argument_spec(2)['profile']['choices'] == GUEST_PROFILES == sorted(set(PROFILES) - {'hypervisor'})
    assert 'profile' not in domain_argument_spec(1)


def params(level=1, **overrides):
    """Module params as AnsibleModule fills them in (the defaults of the table applied, suboptions included)."""
    def filled(spec, given):
        values = {name: option.get('default') for name, option in spec.items()}
        values.update(given)
        for name, option in spec.items():
            if 'options' in option and values[name] is not None:
                if option['type'] == 'list':
                    values[name] = [filled(option['options'], item) for item in values[name]]
                else:
                    values[name] = filled(option['options'], values[name])
        return values
    return filled(copy.deepcopy(domain_argument_spec(level)), dict(dict(name='dom1', virt_type='qemu'), **overrides))


def spec_of(level=1, host=TEST_HOST, **overrides):
    values = params(level, **overrides)
    return DomainSpec.from_params(values, host, level=level, profile=module_profile(values))


@pytest.mark.parametrize('profile', GUEST_PROFILES)
def test_every_guest_profile_gives_a_spec_with_its_defaults(profile):
    big_host = HostCapabilities(set(), 'intel', set(), memory=16 * 1024 ** 3)
    overrides = dict(disks=[dict(name='system', size='64GiB')], graphics_password='s3cret')
    spec = spec_of(2, big_host, profile=profile, **overrides)
    assert (spec.vcpus, spec.memory) == (PROFILES[profile]['vcpus'], PROFILES[profile]['memory'])
    assert spec.disks[0].bus == PROFILES[profile]['disk_bus']


def required_if_cases():
    for name, option in OPTIONS.items():
        for other, value, example in option.get('required_if', ()):
            yield pytest.param(name, other, value, example, id='%s=%s needs %s' % (other, value, name))


@pytest.mark.parametrize('name, other, value, example', list(required_if_cases()))
def test_every_required_if_rule_is_enforced_naming_the_option(name, other, value, example):
    with pytest.raises(OptionError) as refused:
        spec_of(**{other: value, name: None})
    assert refused.value.details['option'] == name and example in str(refused.value)


def test_the_required_if_rules_are_what_the_documentation_says(documented):
    assert [(name, other, value) for name, option in OPTIONS.items()
            for other, value, _example in option.get('required_if', ())] == [('cpu_model', 'cpu_mode', 'custom')]
    assert 'O(cpu_mode=custom)' in documented[1]['cpu_model']['description']


def test_required_if_is_checked_before_the_rest():
    # A custom CPU without a model on a host too small for the guest: the first thing said is the missing option.
    with pytest.raises(OptionError) as refused:
        spec_of(cpu_mode='custom', vcpus=64, host=HostCapabilities(set(), 'intel', set(), cpus=2))
    assert refused.value.details['option'] == 'cpu_model'


@pytest.mark.parametrize('option', ['OPTIONS', 'LEVEL_OPTIONS'])
def test_the_table_is_not_changed_by_deriving_from_it(option):
    table = copy.deepcopy(getattr(_domain_spec, option))
    domain_argument_spec(1)['disks']['options'].pop('size')
    domain_argument_spec(2)['profile']['choices'].append('x')
    assert getattr(_domain_spec, option) == table


def test_cloud_init_becomes_the_seed_image_with_the_other_options():
    spec = spec_of(cloud_init=dict(hostname='dom1', ssh_authorized_keys=['ssh-ed25519 AAAAC3Nza test']))
    assert spec.seed == dict(hostname='dom1', ssh_authorized_keys=['ssh-ed25519 AAAAC3Nza test'])
    assert spec.seed_image[32769:32774] == b'CD001'  # an ISO 9660 image: the primary volume descriptor
    assert spec_of(cloud_init=dict(hostname=None)).seed_image is None  # nothing given: no seed


@pytest.mark.parametrize('cloud_init, option', [
    (dict(hostname='not_a_hostname'), 'cloud_init.hostname'),
    (dict(ssh_authorized_keys=['-----BEGIN OPENSSH PRIVATE KEY-----']), 'cloud_init.ssh_authorized_keys'),
    (dict(user_data=dict(password='hunter2')), 'cloud_init.user_data'),
    (dict(ssh_host_keys=['not a key']), 'cloud_init.ssh_host_keys'),
])
def test_bad_cloud_init_is_refused_by_the_spec(cloud_init, option):
    # from_params is given a HostCapabilities and nothing else of libvirt's: refused here is refused before any
    # libvirt look-up (no domain, pool or volume is asked for).
    with pytest.raises(OptionError) as refused:
        spec_of(cloud_init=cloud_init)
    assert refused.value.details['option'] == option
    assert 'hunter2' not in str(refused.value)


def test_vendor_data_is_checked_like_user_data():
    # The seed takes every key the option declares: vendor_data gets user_data's password refusal.
    with pytest.raises(OptionError) as refused:
        spec_of(cloud_init=dict(vendor_data={'chpasswd': {'list': 'root:hunter2'}}))
    assert refused.value.details['option'] == 'cloud_init.vendor_data'
    assert 'hunter2' not in str(refused.value)
    assert spec_of(cloud_init=dict(vendor_data={'runcmd': [['true']]})).seed_image
