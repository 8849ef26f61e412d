#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: domain_wait
short_description: Wait, bounded and with progress, until a libvirt guest answers; say why when it does not
version_added: '0.2.0'
description:
  - Runs on the host that runs the guest (delegate the task to it) and waits up to O(timeout) seconds until the guest
    answers. With O(wait_for=ssh) its SSH server sends its banner on O(address):O(port) as seen from that host
    (right for user-mode port forwards, which listen on that host's loopback, and for guests on a bridge that host
    is on); with
    O(wait_for=agent) its qemu-guest-agent answers libvirt; with O(wait_for=running) libvirt says it runs.
  - Prints a line at least every O(progress_interval) seconds while it waits (what it waits for, how long so far, the
    limit, libvirt's state and the QEMU process's CPU use), so a long boot is never silent.
  - A guest that stops, crashes or vanishes ends the wait at once. When the wait fails, the message names the guest,
    the host, libvirt's state and reason, whether its QEMU process is alive and how busy, the last lines of its serial
    console, and the commands to look further (see M(nestedkvm.stack.domain_status)). When the host itself stops
    answering (an L1 that wedged while its guest booted), the task fails, not hangs, bounded by the SSH connection's
    own keep-alive (C(ServerAliveInterval)/C(ServerAliveCountMax)) and by the task's O(timeout).
  - Read-only; never reports a change.
author:
  - nestedkvm.stack developers (@nestedkvm)
extends_documentation_fragment:
  - nestedkvm.stack.domain.libvirt_uri
options:
  name:
    description: Name of the libvirt domain.
    type: str
    required: true
  wait_for:
    description: What counts as answering.
    type: str
    choices: [ssh, agent, running]
    default: ssh
  address:
    description: Where that host reaches the guest's SSH server (O(wait_for=ssh)).
    type: str
    default: 127.0.0.1
  port:
    description: The port of the guest's SSH server at O(address) (a user-mode network's host port).
    type: int
    default: 22
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 300
  progress_interval:
    description: Seconds between progress lines (and between the module's runs on the host, each of which is one
      bounded round trip).
    type: int
    default: 30
  console_lines:
    description: How many of the last lines of the serial console log a failure shows.
    type: int
    default: 20
attributes:
  action:
    description: An action plugin runs the waiting module on the host in slices of O(progress_interval) seconds.
    support: full
  check_mode:
    description: Read-only, so check mode waits too (a guest that check mode did not start fails the wait).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux hosts running libvirt with QEMU.
    support: full
    platforms: posix
notes:
  - Become root on that host to let a failure read the QEMU process and the console log.
seealso:
  - module: nestedkvm.stack.domain_status
'''

EXAMPLES = r'''
- name: Wait up to 600 s for the L1's SSH, forwarded to the L0's 127.0.0.1:2222
  nestedkvm.stack.domain_wait:
    name: lab-l1
    wait_for: ssh
    port: 2222
    timeout: 600
  delegate_to: localhost
  become: true
'''

RETURN = r'''
ready:
  description: The guest answered.
  returned: always
  type: bool
waited:
  description: Seconds waited.
  returned: always
  type: float
  sample: 41.5
outcome:
  description: V(ready), V(timeout), V(stopped) (a state it will not leave by itself, such as C(shutoff) or
    C(crashed)) or V(gone) (no such domain).
  returned: always
  type: str
domain_status:
  description: What the host knew of the guest when the wait ended without an answer (see
    M(nestedkvm.stack.domain_status)).
  returned: when O(wait_for) was not reached
  type: dict
  contains:
    name:
      description: O(name).
      type: str
    uri:
      description: O(uri).
      type: str
    exists:
      description: libvirt knows a domain of that name.
      type: bool
    state:
      description: libvirt's state of the domain; null when it does not exist.
      type: str
    reason:
      description: Why it is in that state.
      type: str
    qemu:
      description: Its QEMU process (C(pid), C(alive), C(state), C(cpu_percent), C(threads)); null for a remote URI,
        a guest that is not running, or when none is found.
      type: dict
    console_log:
      description: The serial console's log file on that host; null when the domain keeps none.
      type: str
    console_tail:
      description: Its last O(console_lines) lines.
      type: list
      elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, is_local_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_health import GuestWait, domain_status, guest_argument_spec
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to


def main():
    module = AnsibleModule(
        argument_spec=guest_argument_spec(
            wait_for=dict(type='str', choices=['ssh', 'agent', 'running'], default='ssh'),
            address=dict(type='str', default='127.0.0.1'),
            port=dict(type='int', default=22),
            timeout=dict(type='int', default=300),
            progress_interval=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    with reported_to(module), Connection(params['uri']) as connection:
        outcome, waited = GuestWait(connection, params['name'], params['wait_for'], params['address'],
                                    params['port']).run(max(params['timeout'], 0))
        result = dict(changed=False, ready=outcome == 'ready', outcome=outcome, waited=round(waited, 1))
        if outcome != 'ready':
            result['domain_status'] = domain_status(connection, params['name'], is_local_uri(params['uri']),
                                                    params['console_lines'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
