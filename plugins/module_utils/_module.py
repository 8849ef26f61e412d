# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main() of the domain modules: build the AnsibleModule, run the engine, report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain import DomainManager
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import domain_argument_spec, module_profile
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to


def run_domain_module(level):
    """main() of l1_domain (``level`` 1) and l2_domain (2); their options are _domain_spec's."""
    module = AnsibleModule(argument_spec=domain_argument_spec(level), supports_check_mode=True)
    with reported_to(module):
        result = DomainManager(module, level=level, profile=module_profile(module.params)).run()
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)
