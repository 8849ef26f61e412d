# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What this collection may change: the domains it created, and the volumes it created for them.

The proof is a record in the domain's metadata (``<nk:stack uuid=...>``) that names the UUID the
collection gave the domain. A record alone would be a claim that travels: ``virsh dumpxml | virsh
define`` under another name, or virt-clone, copies it into a domain with another UUID. A copy's
record therefore names a UUID that is not its own, and the copy is not the collection's.

Records written before the UUID was recorded (``legacy``) cannot tell a domain from its copy. They
are still trusted for the domain itself (so labs made by earlier versions keep working and can be
torn down), and the UUID is recorded at their next definition. Their volumes are protected like
everyone's by the rules of ``volumes_to_delete``: a volume is deleted only when it is a disk of the
domain being removed and no other domain on the host uses it, as a disk or as a backing file of one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_xml import NK_NS
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

OURS = 'collection'  # the record names this domain's UUID
LEGACY = 'legacy'  # a record from before the UUID was recorded
COPIED = 'copied'  # a record naming another domain's UUID: a copy of one of ours

_RECORD = 'metadata/{%s}stack' % NK_NS


def ownership(root):
    """OURS, LEGACY, COPIED, or None (no record: a domain the collection did not create) for a definition."""
    record = root.find(_RECORD)
    if record is None:
        return None
    recorded = record.get('uuid')
    if recorded is None:
        return LEGACY
    return OURS if recorded.lower() == (root.findtext('uuid') or '').strip().lower() else COPIED


class DomainClaim:
    """Whether a run may manage an existing domain, and which volumes its record may claim."""

    def __init__(self, name, root):
        self.name = name
        self.ownership = ownership(root)
        self.adopting = False
        # Only a record that is this domain's own says which volumes the collection made for it.
        self.recorded_volumes = set()
        if self.ownership in (OURS, LEGACY):
            self.recorded_volumes = {(v.get('pool'), v.get('name')) for v in root.iterfind(_RECORD + '/{%s}volume' % NK_NS)}

    @property
    def managed(self):
        return self.ownership in (OURS, LEGACY)

    def require(self, adopt):
        """Raise an OptionError unless the collection made this domain or the task adopts it."""
        if self.managed:
            return
        if not adopt:
            why = {COPIED: "its definition carries another domain's record (a copy made with virsh dumpxml/define or "
                           "virt-clone)",
                   None: 'its definition carries no record of this collection'}[self.ownership]
            raise OptionError('adopt', "domain '%s' exists but this collection did not create it: %s. It was left as it "
                                       "is. Pick another name, or set adopt: true to let this task manage (and with "
                                       "state absent, remove) it; its existing volumes never become the collection's"
                                       % (self.name, why))
        self.adopting = True


def disk_sources(root):
    """Host paths of the file and block disks (CD-ROMs included) of a definition."""
    sources = set()
    for source in root.iterfind('devices/disk/source'):
        path = source.get('file') or source.get('dev')
        if path:
            sources.add(path)
    return sources


def volumes_to_delete(candidates, own_sources, users):
    """Split the recorded volumes of a domain being removed into (delete, keep).

    ``candidates`` are (key, path) of the recorded volumes that exist; ``own_sources`` the disk paths of
    the domain; ``users`` maps a path to the other domains that use it (as a disk or a backing file).
    ``keep`` holds (key, reason).
    """
    delete, keep = [], []
    for key, path in candidates:
        if path not in own_sources:
            keep.append((key, 'not a disk of this domain'))
        elif users.get(path):
            keep.append((key, 'still used by domain %s' % ', '.join("'%s'" % u for u in sorted(users[path]))))
        else:
            delete.append(key)
    return delete, keep
