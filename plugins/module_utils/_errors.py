# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One exception type for failures a user can act on, and one place that reports them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

try:
    from libvirt import libvirtError
except ImportError:  # the modules report the missing library themselves
    class libvirtError(Exception):  # noqa: N801 - mirrors the libvirt name
        pass


class NestedKvmError(Exception):
    """A failure with a message that says what was wrong and what to do.

    ``details`` are extra return values for fail_json (e.g. the option at fault).
    """

    def __init__(self, msg, **details):
        super(NestedKvmError, self).__init__(msg)
        self.msg = msg
        self.details = details


class OptionError(NestedKvmError):
    """Bad input: raised before anything is touched, names the option."""

    def __init__(self, option, msg):
        super(OptionError, self).__init__('%s: %s' % (option, msg), option=option)


@contextlib.contextmanager
def reported_to(module):
    """Turn NestedKvmError and libvirtError raised inside the block into module.fail_json."""
    try:
        yield
    except NestedKvmError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except libvirtError as exc:
        module.fail_json(msg='libvirt: %s' % exc)
