"""_errors: one exception type a user can act on, and reported_to, the one place that turns it (and libvirt's own
errors) into a module's failure. The module is a real AnsibleModule run by tests/conftest.py's run_module, whose
exit_json and fail_json hand the result back (the real ones need the serialization AnsiballZ sets up)."""

from types import SimpleNamespace

import libvirt
import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError, reported_to


@pytest.fixture
def failure(run_module):
    """failure(block) -> the result of a module that ran ``block`` inside reported_to."""
    def main(block):
        module = AnsibleModule(argument_spec={})
        with reported_to(module):
            block()
        module.exit_json(ran_to_the_end=True)
    return lambda block: run_module(SimpleNamespace(main=lambda: main(block)), {})


def test_an_option_error_names_the_option_in_its_message_and_its_result(failure):
    def bad_input():
        raise OptionError('disks[0].size', 'must be larger than the backing image (2 GiB)')
    result = failure(bad_input)
    assert result['failed'] is True and result['option'] == 'disks[0].size'
    assert result['msg'] == 'disks[0].size: must be larger than the backing image (2 GiB)'


def test_the_details_of_an_error_become_return_values(failure):
    def in_use():
        raise NestedKvmError('/dev/kvm is in use', kvm_users=[dict(pid=1, name='l1')], changed=False)
    result = failure(in_use)
    assert result['msg'] == '/dev/kvm is in use' and result['kvm_users'] == [dict(pid=1, name='l1')]
    assert result['changed'] is False


def test_libvirt_s_own_error_is_reported_as_libvirt_s(failure):
    def lookup():
        with libvirt.open('test:///default') as conn:
            conn.lookupByName('host15-no-such-domain')
    result = failure(lookup)
    assert result['msg'] == 'libvirt: Domain not found' and 'option' not in result


def test_any_other_exception_is_a_bug_and_goes_through(failure):
    def bug():
        raise KeyError('a bug shows its traceback')
    with pytest.raises(KeyError):
        failure(bug)
    assert failure(lambda: None) == dict(changed=False, ran_to_the_end=True)  # nothing raised: nothing reported
