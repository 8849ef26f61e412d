# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_wait on the controller: runs the module on the guest's host in slices, so the wait prints progress on
any callback and a host that stops answering ends the wait as a failure (which a role's rescue sees), not as a
hang or an unreachable host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_health import describe, process_state

display = Display()

_WHAT = {
    'ssh': 'SSH at {address}:{port}',
    'agent': 'its guest agent',
    'running': 'libvirt to say it runs',
}


def _progress(status):
    """'running (booted), QEMU at 98 % CPU' from a domain_status result."""
    if not status.get('exists'):
        return 'no such domain'
    text = '%s (%s)' % (status['state'], status['reason'])
    qemu = status.get('qemu')
    if qemu and qemu.get('alive'):
        text += ', QEMU %sat %s %% CPU' % (process_state(qemu), qemu['cpu_percent'])
    return text


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        timeout = int(args.get('timeout', 300))
        interval = int(args.get('progress_interval', 30))
        if timeout < 1 or interval < 5:
            return dict(result, failed=True, msg='timeout must be at least 1 and progress_interval at least 5 '
                                                 '(seconds); got %d and %d' % (timeout, interval))
        host = self._task.delegate_to or task_vars.get('inventory_hostname')
        what = _WHAT[args.get('wait_for', 'ssh')].format(address=args.get('address', '127.0.0.1'), port=args.get('port', 22))
        guest = "'%s'" % args.get('name')
        started = time.monotonic()
        # A module run costs more than its wait (SSH, Python start-up: seconds inside an emulated L1); what the last
        # one cost is taken off the next slice, so progress lines stay within the interval.
        overhead = interval / 2.0
        while True:
            waited = time.monotonic() - started
            piece = int(max(min(interval - overhead, timeout - waited), 1))
            call_started = time.monotonic()
            try:
                answer = self._execute_module(module_name='nestedkvm.stack.domain_wait',
                                              module_args=dict(args, timeout=piece), task_vars=task_vars)
            except AnsibleConnectionFailure as exc:
                return dict(result, failed=True, unreachable_host=host, waited=round(waited, 1),
                            msg="%s stopped answering after %d s of waiting for %s of guest %s on it: %s. The host "
                                "itself is in trouble: if it is a VM, look at it from the host that runs it "
                                "(nestedkvm.stack.domain_status)." % (host, waited, what, guest, exc))
            waited = time.monotonic() - started
            overhead = min(max(time.monotonic() - call_started - answer.get('waited', 0), 0), interval - 1)
            if answer.get('failed'):
                answer['msg'] = 'waiting for %s of guest %s on %s: %s' % (what, guest, host, answer.get('msg'))
                return dict(result, **answer)
            if answer.get('ready'):
                return dict(result, changed=False, ready=True, outcome='ready', waited=round(waited, 1))
            status = answer['domain_status']
            if answer['outcome'] != 'timeout' or waited >= timeout:
                verdict = ('did not answer (%s) within %d s' % (what, timeout) if answer['outcome'] == 'timeout'
                           else 'stopped while waiting for %s, after %d s' % (what, waited))
                return dict(result, failed=True, ready=False, outcome=answer['outcome'], waited=round(waited, 1),
                            domain_status=status, msg='guest %s %s: %s' % (guest, verdict, describe(status, host)))
            display.display('  %s: waiting for %s of guest %s on %s: %d s of %d s; %s'
                            % (task_vars.get('inventory_hostname'), what, guest, host, waited, timeout,
                               _progress(status)))
