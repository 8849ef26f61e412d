# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work of kvm_nested_param: plan first (nothing touched), then apply the plan unless in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.nestedkvm.stack.plugins.module_utils import _hostfs, _kernel_modules, _procfs
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import kvm_module as vendor_kvm_module
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError

FILE_TEMPLATE = '/etc/modprobe.d/nestedkvm-%s.conf'
FILE_MODE = 0o644
FILE_HEADER = (
    '# This file is owned by the Ansible module nestedkvm.stack.kvm_nested_param.\n'
    '# It is rewritten whenever that module runs with persistent=true: do not edit it here, change\n'
    '# the module\'s state (enabled|disabled) instead.\n'
)


def owned_file(kvm_module):
    return FILE_TEMPLATE % kvm_module


def render_file(kvm_module, enabled):
    return '%soptions %s nested=%d\n' % (FILE_HEADER, kvm_module, 1 if enabled else 0)


def no_virtualization_message(cpu):
    what = ', '.join(v for v in (cpu.vendor_id, cpu.model_name) if v) or 'unknown CPU'
    vm = (' This host is itself a virtual machine (the CPU reports the hypervisor flag): enable nested '
          'virtualization on its host (L0) and give it a CPU model with vmx/svm, e.g. host-passthrough.'
          if cpu.hypervisor else '')
    return ('This CPU (%s) offers neither vmx (Intel VT-x) nor svm (AMD-V) in /proc/cpuinfo, so there is no KVM '
            'nesting to switch on. Enable VT-x/AMD-V in the firmware (BIOS/UEFI) setup.%s Otherwise run guests '
            'under QEMU emulation (virt_type qemu). Nothing was changed.' % (what, vm))


def resolve_vendor(cpu, requested):
    """The vendor (intel|amd) whose KVM module to configure; raises when the CPU cannot or does not match."""
    actual = cpu.virt_vendor
    if requested != 'auto':
        seen = actual or cpu.vendor
        if seen != 'unknown' and seen != requested:
            raise OptionError('vendor', 'vendor=%s was asked for, but this CPU is %s (%s%s); use vendor=auto or %s'
                              % (requested, seen, cpu.vendor_id,
                                 ', %s' % cpu.virt_flag if cpu.virt_flag else ', without vmx/svm', seen))
    if actual is None:
        raise NestedKvmError(no_virtualization_message(cpu), cpu_vendor=cpu.vendor, hardware_virtualization=False,
                             changed=False)
    return actual


def _runtime_text(value):
    if value is None:
        return '(module not loaded)\n'
    return '%s\n' % ('Y' if value else 'N')


class NestedParam(object):
    """Sets the ``nested`` parameter of kvm_intel/kvm_amd, at runtime and in a modprobe.d file of its own.

    ``run_command`` runs a list of arguments like AnsibleModule.run_command (the default); tests pass a fake.
    """

    def __init__(self, module, run_command=None):
        self.module = module
        self.check_mode = module.check_mode
        self.run_command = run_command or module.run_command
        self.warnings = []  # main() hands them to module.warn

    # -- planning: reads only --------------------------------------------------------------------------------

    def plan(self, state, vendor, persistent, reload):
        cpu = read_cpuinfo()
        vendor = resolve_vendor(cpu, vendor)
        kvm_module = vendor_kvm_module(vendor)
        desired = state == 'enabled'
        path = owned_file(kvm_module)
        plan = dict(vendor=vendor, module=kvm_module, desired=desired, path=path, persistent=persistent,
                    reload=reload, before=_kernel_modules.read_nested(kvm_module), state=_kernel_modules.module_state(kvm_module),
                    file_before=_hostfs.read_text(path), action=None, reboot_required=False)
        plan['file_after'] = render_file(kvm_module, desired) if persistent else plan['file_before']
        self._warn_conflicts(plan)

        if plan['before'] == desired:
            return plan
        if plan['state'] == 'absent':
            # Not loaded: loading it is enough (with reload), or the next load reads the persistent file.
            if reload:
                plan['action'] = 'load'
            elif not persistent:
                self.warnings.append('%s is not loaded and neither reload nor persistent is set: nothing will '
                                     'set nested=%d when it loads' % (kvm_module, desired))
            return plan
        if plan['state'] == 'builtin':
            cmdline = '%s.nested=%d' % (kvm_module, desired)
            if reload:
                raise NestedKvmError(
                    '%s is built into this kernel and cannot be reloaded (modprobe.d does not apply to it either): '
                    'add %s to the kernel command line and reboot, or run with reload=false' % (kvm_module, cmdline),
                    module=kvm_module, before=plan['before'])
            self.warnings.append('%s is built into this kernel: modprobe.d does not apply to it; add %s to the '
                                 'kernel command line' % (kvm_module, cmdline))
            plan['reboot_required'] = True
            return plan
        if not reload:
            plan['reboot_required'] = True
            if not persistent:
                self.warnings.append('reload=false and persistent=false: the runtime value stays %s and nothing '
                                     'makes it %s after a reboot' % (plan['before'], desired))
            return plan
        holders = _procfs.kvm_holders()
        if holders:
            raise NestedKvmError(
                'Cannot reload %s to set nested=%d: /dev/kvm is in use by %s. Stop those guests first, or run with '
                'reload=false to only write the persistent setting (it applies after a reboot).'
                % (kvm_module, desired, _procfs.describe_holders(holders)),
                module=kvm_module, before=plan['before'], kvm_users=holders)
        plan['action'] = 'reload'
        return plan

    def _warn_conflicts(self, plan):
        ours = plan['path']
        for setting in _kernel_modules.modprobe_nested_settings(plan['module'], exclude=ours):
            if setting['value'] == plan['desired']:
                continue
            wins = os.path.basename(setting['file']) > os.path.basename(ours)
            self.warnings.append(
                '%s line %d sets nested=%s for %s, which conflicts with state=%s%s; this module does not edit '
                'other files' % (setting['file'], setting['line'], setting['raw'], plan['module'],
                                 'enabled' if plan['desired'] else 'disabled',
                                 ' and wins (modprobe reads it later)' if wins else ''))
        if not plan['persistent'] and plan['file_before'] is not None:
            found = _kernel_modules.parse_modprobe_nested(plan['file_before'], plan['module'])
            if any(value != plan['desired'] for _line, _raw, value in found):
                self.warnings.append('%s (persistent=false leaves it alone) still sets the opposite value for the '
                                     'next boot' % ours)
        cmdline = _kernel_modules.kernel_cmdline_nested(plan['module'])
        if cmdline is not None and cmdline != plan['desired']:
            self.warnings.append('the kernel command line sets %s.nested=%d, which overrides modprobe.d at boot'
                                 % (plan['module'], cmdline))

    # -- applying --------------------------------------------------------------------------------------------

    def _write_file(self, path, content):
        real = _hostfs.host_path(path)
        directory = os.path.dirname(real)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(prefix='.nestedkvm-', dir=directory)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content.encode('utf-8'))
            os.chmod(tmp, FILE_MODE)
            self.module.atomic_move(tmp, real)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        os.chmod(real, FILE_MODE)

    def _modprobe(self, *args):
        modprobe = self.module.get_bin_path('modprobe', required=True)
        cmd = [modprobe, *args]
        rc, out, err = self.run_command(cmd)
        if rc != 0:
            raise NestedKvmError('%s failed (rc=%d): %s' % (' '.join(cmd), rc, (err or out).strip()),
                                 cmd=cmd, rc=rc, stdout=out, stderr=err)

    def _set_runtime(self, plan):
        """Load (or unload and reload) the module with the desired value; returns the value it then reads."""
        module, value = plan['module'], 'nested=%d' % plan['desired']
        if plan['action'] == 'reload':
            self._modprobe('-r', module)
        try:
            self._modprobe(module, value)
        except NestedKvmError as exc:
            if plan['action'] == 'reload':
                raise self._put_back(plan, exc)
            raise
        after = _kernel_modules.read_nested(module)
        if after != plan['desired']:
            raise NestedKvmError('%s was loaded with %s, but its nested parameter reads %s'
                                 % (module, value, _kernel_modules.read_module_param(module, 'nested')),
                                 module=module, before=plan['before'], after=after)
        return after

    def _put_back(self, plan, failure):
        """The module was unloaded and will not load with the new value: load it as it was (its old nested value;
        its other options come from modprobe.d, which this run has not written yet). Returns the error to raise."""
        module, old = plan['module'], 'nested=%d' % plan['before']
        try:
            self._modprobe(module, old)
        except NestedKvmError as again:
            return NestedKvmError(
                '%s; loading it again as it was (%s) failed too: %s. %s is not loaded now, so no guest can use KVM: '
                'fix the cause and run modprobe %s. %s was not written.'
                % (failure.msg, old, again.msg, module, module, plan['path']),
                module=module, before=plan['before'], after=None, **failure.details)
        return NestedKvmError(
            '%s. %s was loaded again as it was (%s) and its nested parameter reads %s; nothing was changed (%s '
            'was not written).'
            % (failure.msg, module, old, _kernel_modules.read_module_param(module, 'nested'), plan['path']),
            module=module, before=plan['before'], after=_kernel_modules.read_nested(module), **failure.details)

    def apply(self, plan):
        file_changed = plan['persistent'] and plan['file_before'] != plan['file_after']
        after = plan['before']
        if plan['action']:
            after = plan['desired']
        if not self.check_mode:
            # The module first: when it will not load with the new value, it is put back and the file stays as it was.
            if plan['action']:
                after = self._set_runtime(plan)
            if file_changed:
                self._write_file(plan['path'], plan['file_after'])
        result = dict(
            changed=bool(file_changed or plan['action']),
            vendor=plan['vendor'],
            module=plan['module'],
            before=plan['before'],
            after=after,
            file=plan['path'] if plan['persistent'] else None,
            reboot_required=plan['reboot_required'],
            action=plan['action'],
        )
        if self.module._diff:
            runtime = '/sys/module/%s/parameters/nested' % plan['module']
            diff = [dict(before_header=runtime, after_header=runtime,
                         before=_runtime_text(plan['before']), after=_runtime_text(after))]
            if plan['persistent']:
                diff.append(dict(before_header=plan['path'], after_header=plan['path'],
                                 before=plan['file_before'] or '', after=plan['file_after']))
            result['diff'] = diff
        return result

    def run(self, state, vendor, persistent, reload):
        return self.apply(self.plan(state, vendor, persistent, reload))
