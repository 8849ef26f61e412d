# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ISO 9660 writer: images that real readers (isoinfo, blkid, 7z, the Linux kernel) accept, and their structure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import shutil
import struct
import subprocess

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._iso9660 import SECTOR, build_iso

ISOINFO = shutil.which('isoinfo')
BLKID = shutil.which('blkid') or ('/sbin/blkid' if os.path.exists('/sbin/blkid') else None)
SEVEN_Z = shutil.which('7z') or shutil.which('7za')

needs_isoinfo = pytest.mark.skipif(ISOINFO is None, reason='isoinfo not installed (Debian package genisoimage)')

# What a NoCloud seed holds, one file with a byte beyond ASCII.
FILES = {
    'user-data': u'#cloud-config\n{"packages": ["qemu-kvm"], "motd": "h\u00e9"}\n'.encode('utf-8'),
    'meta-data': b'instance-id: iid-l1\nlocal-hostname: l1\n',
    'network-config': b'{"version": 2}\n',
}


def _run(*args):
    return subprocess.run(args, check=True, capture_output=True).stdout


@pytest.fixture
def write_iso(tmp_path):
    def write(data, name='seed.iso'):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)
    return write


# --------------------------------------------------------------------------- ISO read by real tools


@needs_isoinfo
def test_isoinfo_sees_label_joliet_and_exact_contents(write_iso):
    path = write_iso(build_iso(FILES))

    info = _run(ISOINFO, '-d', '-i', path).decode()
    assert 'Volume id: cidata' in info
    assert 'Joliet with UCS level 3 found' in info
    assert 'Logical block size is: 2048' in info
    assert 'Volume size is: %d' % (os.path.getsize(path) // SECTOR) in info

    listing = _run(ISOINFO, '-J', '-f', '-i', path).decode().split()
    assert sorted(listing) == ['/meta-data', '/network-config', '/user-data']
    for name, data in FILES.items():
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == data

    # Readers without Joliet get the 8.3 aliases with the same bytes.
    primary = _run(ISOINFO, '-f', '-i', path).decode().split()
    assert sorted(primary) == ['/META_DAT.;1', '/NETWORK_.;1', '/USER_DAT.;1']
    assert _run(ISOINFO, '-x', '/USER_DAT.;1', '-i', path) == FILES['user-data']


@needs_isoinfo
@pytest.mark.parametrize('size', [0, 1, SECTOR - 1, SECTOR, SECTOR + 1, 5000, 70000, 3 * 1024 * 1024 + 7])
def test_multi_sector_files_round_trip(write_iso, size):
    # Varying bytes, so a wrong extent or a truncated tail cannot go unnoticed.
    payload = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    payload = payload[:size]
    files = {'user-data': payload, 'meta-data': b'instance-id: x\n', 'vendor-data': b'#cloud-config\n{}\n'}
    path = write_iso(build_iso(files))
    for name, data in files.items():
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == data
    listing = _run(ISOINFO, '-J', '-l', '-i', path).decode()
    assert ' %d ' % size in listing


@needs_isoinfo
def test_directory_spanning_several_sectors(write_iso):
    # 64-character Joliet names make ~160-byte records: 60 of them need a multi-sector directory,
    # which exercises the rule that a record never straddles a sector boundary.
    files = dict(('f%02d-' % i + 'x' * 60, ('file %d\n' % i).encode()) for i in range(60))
    path = write_iso(build_iso(files))
    listing = _run(ISOINFO, '-J', '-f', '-i', path).decode().split()
    assert sorted(listing) == sorted('/' + name for name in files)
    for name in ('f00-' + 'x' * 60, 'f37-' + 'x' * 60, 'f59-' + 'x' * 60):
        assert _run(ISOINFO, '-J', '-x', '/' + name, '-i', path) == files[name]
    primary = _run(ISOINFO, '-f', '-i', path).decode().split()
    assert len(set(primary)) == 60  # the 8.3 aliases collide and must have been made unique


@pytest.mark.skipif(BLKID is None, reason='blkid (util-linux) not installed')
def test_blkid_reports_cidata_label(write_iso):
    path = write_iso(build_iso(FILES))
    assert _run(BLKID, '-p', '-o', 'value', '-s', 'LABEL', path).decode().strip() == 'cidata'
    assert _run(BLKID, '-p', '-o', 'value', '-s', 'TYPE', path).decode().strip() == 'iso9660'


@pytest.mark.skipif(SEVEN_Z is None, reason='7z (p7zip) not installed')
def test_7z_extracts_same_bytes(write_iso, tmp_path):
    path = write_iso(build_iso(FILES))
    out = tmp_path / 'out'
    _run(SEVEN_Z, 'x', '-y', '-o%s' % out, path)
    for name, data in FILES.items():
        assert (out / name).read_bytes() == data


def test_linux_kernel_mounts_it(write_iso, tmp_path):
    if os.name != 'posix' or os.geteuid() != 0:
        pytest.skip('mounting a loop device needs root')
    if not os.path.exists('/dev/loop-control'):
        pytest.skip('no loop devices (/dev/loop-control missing)')
    path = write_iso(build_iso(FILES))
    mnt = tmp_path / 'mnt'
    mnt.mkdir()
    mount = subprocess.run(['mount', '-o', 'loop,ro', path, str(mnt)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, check=False)
    if mount.returncode != 0:
        pytest.skip('kernel refused the loop mount (no iso9660 driver or no privilege in this '
                    'container?): %s' % mount.stdout.decode(errors='replace').strip())
    try:
        assert sorted(os.listdir(str(mnt))) == sorted(FILES)
        for name, data in FILES.items():
            assert (mnt / name).read_bytes() == data
    finally:
        subprocess.run(['umount', str(mnt)], check=True)


# --------------------------------------------------------------------------- ISO structure


def test_volume_descriptors_carry_the_label():
    image = build_iso(FILES)
    pvd, svd, term = (image[s * SECTOR:(s + 1) * SECTOR] for s in (16, 17, 18))
    assert pvd[:7] == b'\x01CD001\x01'
    assert svd[:7] == b'\x02CD001\x01'
    assert term[:7] == b'\xffCD001\x01'
    assert pvd[40:72] == b'cidata'.ljust(32)
    assert svd[40:72].decode('utf-16-be').rstrip() == 'cidata'
    assert svd[88:91] == b'%/E'
    assert struct.unpack('<I', pvd[80:84])[0] * SECTOR == len(image)
    assert image[:16 * SECTOR] == b'\x00' * 16 * SECTOR


def test_text_contents_are_utf8():
    image = build_iso({'user-data': u'#!/bin/sh\necho h\u00e9\n', 'meta-data': b''})
    assert u'#!/bin/sh\necho h\u00e9\n'.encode('utf-8') in image


@pytest.mark.parametrize('name', ['', 'a/b', 'semi;colon', 'x' * 65, 'tab\tname', '..', u'\U0001f600'])
def test_names_joliet_cannot_store_are_refused(name):
    with pytest.raises(ValueError):
        build_iso({name: b'x'})


@pytest.mark.parametrize('volume_id', ['', 'has space', 'x' * 17])
def test_bad_volume_id_is_refused(volume_id):
    with pytest.raises(ValueError):
        build_iso({'user-data': b''}, volume_id=volume_id)


def test_same_files_give_identical_bytes():
    files = {'user-data': b'a', 'meta-data': b'b', 'network-config': b'c'}
    reordered = dict(reversed(list(files.items())))
    assert build_iso(files) == build_iso(reordered)


def test_timestamp_is_fixed_unless_given():
    files = {'user-data': b'a', 'meta-data': b'b'}
    assert b'1980010100000000' in build_iso(files)
    stamped = build_iso(files, mtime=datetime.datetime(2024, 5, 6, 7, 8, 9))
    assert b'2024050607080900' in stamped
    assert stamped != build_iso(files)
