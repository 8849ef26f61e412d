# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An ISO 9660 image (ECMA-119, plus a Joliet supplementary descriptor for lowercase names) of a few files in its
root directory, laid out by hand with the standard library only.

It is the NoCloud seed's CD-ROM (_nocloud): the domain modules run on the target host and push the image through
libvirt's volume upload API, so they can neither shell out to genisoimage/xorriso nor import pycdlib.

Output is byte-for-byte deterministic for given files (fixed timestamps, sorted names): the modules compare the
checksum of the wanted seed with the existing volume to stay idempotent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import struct

SECTOR = 2048
DEFAULT_MTIME = datetime.datetime(1980, 1, 1)

# Sector map. Everything before the directories has a fixed place; 0-15 is the system area.
_PVD_SECTOR = 16
_SVD_SECTOR = 17
_TERMINATOR_SECTOR = 18
_PATH_TABLE_SECTORS = (19, 20, 21, 22)  # primary L, primary M, Joliet L, Joliet M
_FIRST_DIR_SECTOR = 23

# Joliet level 3 (UCS-2, no restriction on which characters of the BMP).
_JOLIET_ESCAPE = b'%/E'
_JOLIET_FORBIDDEN = frozenset('*/:;?\\')
_APPLICATION_ID = 'NESTEDKVM.STACK NOCLOUD SEED'


def _both16(value):
    return struct.pack('<H', value) + struct.pack('>H', value)


def _both32(value):
    return struct.pack('<I', value) + struct.pack('>I', value)


def _sectors(size):
    return (size + SECTOR - 1) // SECTOR


def _dir_datetime(mtime):
    # 7-byte form of directory records; offset byte 0 = GMT, mtime is taken as UTC.
    return struct.pack('7B', mtime.year - 1900, mtime.month, mtime.day,
                       mtime.hour, mtime.minute, mtime.second, 0)


def _volume_datetime(mtime):
    return mtime.strftime('%Y%m%d%H%M%S').encode('ascii') + b'00' + b'\x00'


# "Not specified" per ECMA-119 8.4.26.1: sixteen ASCII zeros and a zero offset.
_UNSET_VOLUME_DATETIME = b'0' * 16 + b'\x00'


def _pad_ascii(text, length):
    raw = text.encode('ascii')
    if len(raw) > length:
        raise ValueError('%r is longer than %d bytes' % (text, length))
    return raw + b' ' * (length - len(raw))


def _pad_ucs2(text, length):
    # The Joliet descriptor keeps the field widths of the primary one; an odd width (the 37-byte
    # file identifiers) cannot hold a whole UCS-2 space, so its last byte is left zero.
    raw = text.encode('utf-16-be')
    if len(raw) > length:
        raise ValueError('%r is longer than %d bytes in UCS-2' % (text, length))
    filler = ' ' * ((length - len(raw)) // 2)
    raw += filler.encode('utf-16-be')
    return raw + b'\x00' * (length - len(raw))


def _dir_record(identifier, extent, size, mtime, is_dir):
    length = 33 + len(identifier)
    if length % 2:
        length += 1  # records start on even bytes: ECMA-119 9.1.12 padding field
    record = struct.pack('BB', length, 0) + _both32(extent) + _both32(size)
    record += _dir_datetime(mtime)
    record += struct.pack('BBB', 2 if is_dir else 0, 0, 0) + _both16(1)
    record += struct.pack('B', len(identifier)) + identifier
    return record + b'\x00' * (length - len(record))


def _dir_size(record_lengths):
    """Bytes taken by a directory whose records have these lengths (records never straddle sectors)."""
    used = 0
    for length in record_lengths:
        if used % SECTOR + length > SECTOR:
            used += SECTOR - used % SECTOR
        used += length
    return _sectors(used) * SECTOR


def _dir_extent(records, size):
    data = b''
    for record in records:
        if len(data) % SECTOR + len(record) > SECTOR:
            data += b'\x00' * (SECTOR - len(data) % SECTOR)
        data += record
    return data + b'\x00' * (size - len(data))


def _path_table(root_extent, big_endian):
    # Only the root: directory identifier 0x00, parent number 1 (itself), padded to even length.
    fmt = '>IH' if big_endian else '<IH'
    return struct.pack('BB', 1, 0) + struct.pack(fmt, root_extent, 1) + b'\x00\x00'


_D_CHAR_BAD = re.compile(r'[^A-Z0-9_]')


def _level1_names(names):
    """Map each name to a unique 8.3 d-character identifier (ISO 9660 level 1, version ;1)."""
    result = {}
    taken = set()
    for name in sorted(names):
        base, dot, ext = name.rpartition('.')
        if not dot or not base:
            base, ext = name, ''
        base = _D_CHAR_BAD.sub('_', base.upper())[:8] or '_'
        ext = _D_CHAR_BAD.sub('_', ext.upper())[:3]
        candidate, counter = base, 0
        while (candidate, ext) in taken:
            counter += 1
            suffix = str(counter)
            candidate = base[:8 - len(suffix)] + suffix
        taken.add((candidate, ext))
        result[name] = (candidate, ext)
    return result


def _check_joliet_name(name):
    if not name or len(name) > 64:
        raise ValueError('file name %r must have 1 to 64 characters' % (name,))
    for char in name:
        if char in _JOLIET_FORBIDDEN or ord(char) < 0x20 or ord(char) > 0xFFFF:
            raise ValueError('file name %r contains %r, which Joliet cannot store' % (name, char))
    if name in ('.', '..'):
        raise ValueError('file name %r is reserved' % (name,))


def _volume_descriptor(joliet, volume_id, total_sectors, path_table_size, path_tables, root_record,
                       mtime):
    if joliet:
        text = _pad_ucs2
        header = struct.pack('B', 2) + b'CD001' + b'\x01' + b'\x00'
        escapes = _JOLIET_ESCAPE + b'\x00' * (32 - len(_JOLIET_ESCAPE))
    else:
        text = _pad_ascii
        header = struct.pack('B', 1) + b'CD001' + b'\x01' + b'\x00'
        escapes = b'\x00' * 32
    l_table, m_table = path_tables
    descriptor = b''.join((
        header,
        text('', 32),  # system identifier
        text(volume_id, 32),
        b'\x00' * 8,
        _both32(total_sectors),
        escapes,
        _both16(1),  # volume set size
        _both16(1),  # volume sequence number
        _both16(SECTOR),
        _both32(path_table_size),
        struct.pack('<I', l_table), struct.pack('<I', 0),
        struct.pack('>I', m_table), struct.pack('>I', 0),
        root_record,
        text('', 128),  # volume set
        text('', 128),  # publisher
        text('', 128),  # data preparer
        text(_APPLICATION_ID, 128),
        text('', 37), text('', 37), text('', 37),  # copyright, abstract, bibliographic files
        _volume_datetime(mtime),  # creation
        _volume_datetime(mtime),  # modification
        _UNSET_VOLUME_DATETIME,  # expiration
        _UNSET_VOLUME_DATETIME,  # effective
        b'\x01\x00',  # file structure version, reserved
    ))
    return descriptor + b'\x00' * (SECTOR - len(descriptor))


def build_iso(files, volume_id='cidata', mtime=None):
    """Return an ISO 9660 image (bytes) with a Joliet tree holding ``files`` in its root directory.

    ``files`` maps file names to contents (bytes, or text written as UTF-8). The Joliet tree keeps
    the names as given (what Linux's isofs, and so cloud-init, sees); the primary tree carries
    8.3 uppercase aliases for readers without Joliet. ``mtime`` (naive, taken as UTC) stamps every
    date; it defaults to 1980-01-01 so that the same files always give the same bytes.
    """
    mtime = DEFAULT_MTIME if mtime is None else mtime
    if not 1900 <= mtime.year <= 2155:
        raise ValueError('mtime year must be within 1900-2155, the range ISO 9660 dates can hold')
    if not volume_id or len(volume_id) > 16 or not re.fullmatch(r'[A-Za-z0-9_]+', volume_id):
        raise ValueError('volume_id %r must be 1-16 letters, digits or underscores' % (volume_id,))

    contents = {}
    for name, data in files.items():
        _check_joliet_name(name)
        contents[name] = data.encode('utf-8') if isinstance(data, str) else bytes(data)
    short = _level1_names(contents)

    primary_order = sorted(contents, key=lambda n: short[n])
    # Joliet readers compare UCS-2 code units, which sort like the big-endian bytes.
    joliet_order = sorted(contents, key=lambda n: n.encode('utf-16-be'))
    primary_ids = dict((n, ('%s.%s;1' % short[n]).encode('ascii')) for n in contents)
    joliet_ids = dict((n, n.encode('utf-16-be')) for n in contents)

    def dir_length(ids):
        return _dir_size([34, 34] + [len(_dir_record(ids[n], 0, 0, mtime, False)) for n in contents])

    primary_dir_size = dir_length(primary_ids)
    joliet_dir_size = dir_length(joliet_ids)
    primary_root = _FIRST_DIR_SECTOR
    joliet_root = primary_root + primary_dir_size // SECTOR
    next_sector = joliet_root + joliet_dir_size // SECTOR

    # Data goes in name order so the layout does not depend on the dict's insertion order; an
    # empty file still gets its own sector so that no two files claim the same extent.
    extents = {}
    for name in sorted(contents):
        extents[name] = next_sector
        next_sector += max(1, _sectors(len(contents[name])))
    total_sectors = next_sector

    def directory(root, size, order, ids):
        records = [_dir_record(b'\x00', root, size, mtime, True), _dir_record(b'\x01', root, size, mtime, True)]
        records += [_dir_record(ids[n], extents[n], len(contents[n]), mtime, False) for n in order]
        return _dir_extent(records, size)

    path_table_size = len(_path_table(0, False))
    image = [b'\x00' * SECTOR * _PVD_SECTOR]
    image.append(_volume_descriptor(
        False, volume_id, total_sectors, path_table_size, _PATH_TABLE_SECTORS[0:2],
        _dir_record(b'\x00', primary_root, primary_dir_size, mtime, True), mtime))
    image.append(_volume_descriptor(
        True, volume_id, total_sectors, path_table_size, _PATH_TABLE_SECTORS[2:4],
        _dir_record(b'\x00', joliet_root, joliet_dir_size, mtime, True), mtime))
    terminator = struct.pack('B', 255) + b'CD001\x01'
    image.append(terminator + b'\x00' * (SECTOR - len(terminator)))
    for root, big_endian in ((primary_root, False), (primary_root, True), (joliet_root, False), (joliet_root, True)):
        table = _path_table(root, big_endian)
        image.append(table + b'\x00' * (SECTOR - len(table)))
    image.append(directory(primary_root, primary_dir_size, primary_order, primary_ids))
    image.append(directory(joliet_root, joliet_dir_size, joliet_order, joliet_ids))
    for name in sorted(contents):
        data = contents[name]
        image.append(data + b'\x00' * (max(1, _sectors(len(data))) * SECTOR - len(data)))

    result = b''.join(image)
    if len(result) != total_sectors * SECTOR:  # pragma: no cover - guards the layout arithmetic
        raise AssertionError('ISO layout is inconsistent: %d bytes for %d sectors' % (len(result), total_sectors))
    return result
