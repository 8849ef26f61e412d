# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk volumes through libvirt's storage pool/volume API, so remote (qemu+ssh://) hosts work too.

Planning (``plan_disks``/``plan_seed``) only reads and validates; ``create``/``delete`` change
things. Volumes created here are recorded in the domain's metadata; only those are ever deleted, and
only under the rules of _ownership.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import struct

from ansible.module_utils.six.moves.urllib.parse import urlparse

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError

try:
    import libvirt
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    pass

# Image files hold guest data: only their owner, the QEMU user (see Storage.owner), may read them.
VOLUME_MODE = '0600'
# Longer backing chains than this are not followed (and not made by anyone sane).
_MAX_CHAIN = 32


class VolumePlan:
    """One volume a domain needs: where it lives, what it should be, and whether it exists."""

    def __init__(self, option, pool_name, pool, name, fmt, capacity, backing=None, volume=None, owned=False,
                 owner=None):
        self.option = option
        self.pool_name = pool_name
        self.pool = pool
        self.name = name
        self.format = fmt
        self.capacity = capacity
        self.backing = backing  # (path, format) of the base image of an overlay
        self.volume = volume  # the existing virStorageVol, or None
        self.owned = owned  # created earlier by this collection for this domain
        self.owner = owner  # (uid, gid) the volume file gets, or None for libvirt's default
        self.path = os.path.join(_pool_target(pool), name)

    @property
    def key(self):
        return (self.pool_name, self.name)

    def to_xml(self):
        volume = etree.Element('volume')
        etree.SubElement(volume, 'name').text = self.name
        etree.SubElement(volume, 'capacity', unit='bytes').text = str(self.capacity)
        target = etree.SubElement(volume, 'target')
        etree.SubElement(target, 'format', type=self.format)
        permissions = etree.SubElement(target, 'permissions')
        etree.SubElement(permissions, 'mode').text = VOLUME_MODE
        if self.owner:
            etree.SubElement(permissions, 'owner').text = str(self.owner[0])
            etree.SubElement(permissions, 'group').text = str(self.owner[1])
        if self.backing:
            backing = etree.SubElement(volume, 'backingStore')
            etree.SubElement(backing, 'path').text = self.backing[0]
            etree.SubElement(backing, 'format', type=self.backing[1])
        return etree.tostring(volume).decode()


def _pool_target(pool):
    return etree.fromstring(pool.XMLDesc(0).encode()).findtext('target/path') or ''


class Storage:
    def __init__(self, connection):
        self.connection = connection
        self._pools = {}
        self._owner = None

    @property
    def owner(self):
        """(uid, gid) new volumes get, or None for libvirt's default. On a local qemu:///system, volumes
        belong to the QEMU user from the start (and stay so when libvirt hands them back after the guest
        stops); elsewhere QEMU runs as the connecting user."""
        if self._owner is None:
            # Imported only here: each module run compiles the module_utils it imports (AnsiballZ
            # imports them from a zip, with no cached bytecode), and only creating a volume needs this.
            from ansible_collections.nestedkvm.stack.plugins.module_utils._qemu_user import qemu_user_ids

            uri = urlparse(self.connection.uri)
            system = uri.scheme.startswith('qemu') and uri.path == '/system' and self.is_local
            self._owner = (qemu_user_ids() if system else None) or ()
        return self._owner or None

    def pool(self, name, option):
        if name not in self._pools:
            pool = self.connection.pool(name)
            if pool is None:
                raise OptionError(option, "storage pool '%s' does not exist on %s: create it (e.g. `virsh pool-define-as "
                                          "%s dir --target /var/lib/libvirt/images && virsh pool-start %s`) or name "
                                          "another pool" % (name, self.connection.uri, name, name))
            if not pool.isActive():
                raise OptionError(option, "storage pool '%s' is defined but not running: start it with "
                                          "`virsh pool-start %s`" % (name, name))
            self._pools[name] = pool
        return self._pools[name]

    def _existing(self, pool, name):
        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return None
            raise

    def plan_disks(self, spec, owned, in_use=()):
        """VolumePlans for ``spec.disks``; ``owned`` is the set of (pool, volume) this collection created,
        ``in_use`` the disk paths of the domain's current definition."""
        plans = []
        for index, disk in enumerate(spec.disks):
            option = 'disks[%d]' % index
            pool = self.pool(disk.pool, option + '.pool')
            name = disk.volume
            # A volume made under the old name stays the domain's disk: recorded, or used by it.
            if (disk.pool, disk.legacy_volume) in owned or os.path.join(_pool_target(pool), disk.legacy_volume) in in_use:
                name = disk.legacy_volume
            backing = None
            capacity = disk.size
            if disk.backing_image:
                base_format, base_capacity = self.image_info(disk.backing_image, option + '.backing_image')
                backing = (disk.backing_image, base_format)
                capacity = max(capacity or 0, base_capacity)
            existing = self._existing(pool, name)
            plans.append(VolumePlan(option, disk.pool, pool, name, disk.format, capacity, backing=backing,
                                    volume=existing, owned=(disk.pool, name) in owned,
                                    owner=self.owner if existing is None else None))
        return plans

    def plan_seed(self, spec, size, owned):
        """The VolumePlan of the NoCloud seed image, in the first disk's pool (else 'default')."""
        pool_name = spec.disks[0].pool if spec.disks else 'default'
        pool = self.pool(pool_name, 'cloud_init')
        name = '%s-cidata.iso' % spec.name
        existing = self._existing(pool, name)
        return VolumePlan('cloud_init', pool_name, pool, name, 'raw', size, volume=existing,
                          owned=(pool_name, name) in owned, owner=self.owner if existing is None else None)

    def image_info(self, path, option):
        """(format, virtual size in bytes) of an image file, through libvirt where it is in a pool."""
        volume = self.connection.volume_by_path(path)
        if volume is not None:
            xml = etree.fromstring(volume.XMLDesc(0).encode())
            fmt = xml.find('target/format')
            return (fmt.get('type') if fmt is not None else 'raw'), volume.info()[1]
        if self.is_local and os.path.isfile(path):
            return _local_image_info(path)
        raise OptionError(option, "image '%s' was not found on %s (neither in a libvirt storage pool nor as a local "
                                  "file): check the path, or build/download the image first" % (path, self.connection.uri))

    def iso_exists(self, path):
        return self.connection.volume_by_path(path) is not None or (self.is_local and os.path.isfile(path))

    @property
    def is_local(self):
        return not urlparse(self.connection.uri).netloc

    def create(self, plan, data=None):
        """Create the planned volume (with ``data`` as its content) and return it."""
        try:
            volume = plan.pool.createXML(plan.to_xml(), 0)
        except libvirt.libvirtError as exc:
            raise NestedKvmError("%s: could not create volume '%s' in pool '%s': %s"
                                 % (plan.option, plan.name, plan.pool_name, exc.get_error_message()), option=plan.option)
        if data is not None:
            try:
                _upload(self.connection.conn, volume, data)
            except libvirt.libvirtError as exc:
                volume.delete(0)
                raise NestedKvmError("%s: could not write volume '%s' in pool '%s': %s"
                                     % (plan.option, plan.name, plan.pool_name, exc.get_error_message()),
                                     option=plan.option)
        plan.volume = volume
        return volume

    def volume_path(self, pool_name, name):
        """The path of an existing volume, or None when it (or its pool) is gone."""
        pool = self.connection.pool(pool_name)
        volume = self._existing(pool, name) if pool is not None and pool.isActive() else None
        return volume.path() if volume is not None else None

    def backing_files(self, path):
        """The backing chain of the image at ``path`` (its base, the base's base, ...), as far as it can be read:
        through libvirt for images in a pool, from the qcow2 header for local files in none."""
        chain = []
        while len(chain) < _MAX_CHAIN:
            volume = self.connection.volume_by_path(path)
            if volume is not None:
                path = etree.fromstring(volume.XMLDesc(0).encode()).findtext('backingStore/path')
            elif self.is_local and os.path.isfile(path):
                path = _local_backing_file(path)
            else:
                path = None
            if not path or path in chain:
                break
            chain.append(path)
        return chain

    def delete(self, pool_name, name):
        """Delete a volume if it still exists; True when something was deleted."""
        pool = self.connection.pool(pool_name)
        volume = self._existing(pool, name) if pool is not None else None
        if volume is None:
            return False
        volume.delete(0)
        return True


def _upload(conn, volume, data):
    stream = conn.newStream(0)
    volume.upload(stream, 0, len(data), 0)
    offset = 0
    while offset < len(data):
        sent = stream.send(data[offset:offset + 65536])
        if sent <= 0:
            stream.abort()
            raise NestedKvmError("upload to volume '%s' stalled" % volume.name())
        offset += sent
    stream.finish()


def _local_backing_file(path):
    """The backing file a qcow2 image's header names (absolute, as QEMU resolves it), or None."""
    with open(path, 'rb') as image:
        header = image.read(20)
        if len(header) < 20 or header[:4] != b'QFI\xfb':
            return None
        offset, size = struct.unpack('>QI', header[8:20])
        if not offset or not 0 < size < 4096:
            return None
        image.seek(offset)
        name = image.read(size).decode('utf-8', 'replace')
    return os.path.normpath(os.path.join(os.path.dirname(path), name))


def _local_image_info(path):
    """(format, virtual size) read from an image file's header; for hosts where the file is in no pool."""
    with open(path, 'rb') as image:
        header = image.read(32)
    if header[:4] == b'QFI\xfb':
        return 'qcow2', struct.unpack('>Q', header[24:32])[0]
    if header[:4] == b'KDMV':
        return 'vmdk', struct.unpack('<Q', header[12:20])[0] * 512
    return 'raw', os.path.getsize(path)
