# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names the collection gives libvirt objects (domains, storage pools, disks) and the inventory hosts it makes of
them, checked before they are used."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

# libvirt accepts longer names, but the name also becomes volume file names and the guest's
# default hostname: keep it to what is safe in all three.
_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}')


def validate_name(name, what='domain', option='name'):
    """``name`` when it is a usable name of a ``what`` (domain, storage pool, disk, inventory host), else an
    OptionError naming ``option``. The whole value must match: a trailing newline is refused too."""
    if not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise OptionError(option, "'%s' is not a usable %s name: use 1 to 64 letters, digits, '.', '_', '+' "
                                  "or '-', starting with a letter or digit" % (name, what))
    return name
