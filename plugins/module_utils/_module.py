# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main() of the domain modules: build the AnsibleModule, run the engine, report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain import DomainManager
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import domain_argument_spec
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to


def run_domain_module(level, extra_options, profile_option=None):
    argument_spec = domain_argument_spec()
    argument_spec.update(extra_options)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[('cpu_mode', 'custom', ('cpu_model',))],
    )
    profile = module.params[profile_option] if profile_option else 'hypervisor'
    with reported_to(module):
        result = DomainManager(module, level=level, profile=profile).run()
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)
