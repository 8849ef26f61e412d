"""_storage.Storage.backing_files for images in no pool: the qcow2 header is read (libvirt's test driver
stands in for the connection; it knows no such file, so the local reader answers)."""

import shutil
import subprocess

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._storage import Storage

pytestmark = pytest.mark.skipif(shutil.which('qemu-img') is None, reason='qemu-img (qemu-utils) not installed')


def qcow2(path, backing=None):
    command = ['qemu-img', 'create', '-q', '-f', 'qcow2']
    if backing:
        command += ['-b', backing, '-F', 'qcow2']
    subprocess.run([*command, str(path), '16M'], check=True)
    return str(path)


def test_the_backing_chain_of_a_local_image_is_read_from_its_headers(tmp_path):
    base = qcow2(tmp_path / 'base.qcow2')
    middle = qcow2(tmp_path / 'middle.qcow2', backing='base.qcow2')  # relative: resolved beside the image
    top = qcow2(tmp_path / 'top.qcow2', backing=middle)
    with Connection('test:///default') as connection:
        storage = Storage(connection)
        assert storage.backing_files(top) == [middle, base]
        assert storage.backing_files(base) == []
        assert storage.backing_files(str(tmp_path / 'missing.qcow2')) == []
