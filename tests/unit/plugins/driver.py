"""What the tests of the domain modules share about libvirt's test driver: its URI, its pool, and the arguments of a
small domain on it."""

TEST_URI = 'test:///default'
TEST_POOL = 'default-pool'


def domain_args(**overrides):
    """The arguments of a small domain on the test driver, with ``overrides`` applied (``name`` at least)."""
    values = dict(uri=TEST_URI, virt_type='qemu', memory='1GiB',
                  disks=[dict(name='root', pool=TEST_POOL, size='4GiB')],
                  networks=[dict(type='network', source='default')])
    values.update(overrides)
    return values
