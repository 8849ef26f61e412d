# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One libvirt connection per module run, the libvirt URIs the collection opens, look-ups that answer None for
"not there", and a lock per domain for runs that change it. What the host behind the connection offers is
_capabilities' (``Connection.capabilities``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import stat
import tempfile
import time
import traceback
from urllib.parse import parse_qsl, urlsplit

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None
    # libvirt prints every error to stderr as well as raising it; we report errors ourselves.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    LXML_IMPORT_ERROR = None

# virErrorNumber values that mean "no such object" rather than a real failure.
_NOT_FOUND = ('VIR_ERR_NO_DOMAIN', 'VIR_ERR_NO_STORAGE_POOL', 'VIR_ERR_NO_STORAGE_VOL', 'VIR_ERR_NO_NETWORK')


def require_libraries():
    """Raise a NestedKvmError that says what to install when libvirt-python or lxml is missing."""
    if libvirt is None:
        raise NestedKvmError(missing_required_lib('libvirt-python'), exception=LIBVIRT_IMPORT_ERROR)
    if etree is None:
        raise NestedKvmError(missing_required_lib('lxml'), exception=LXML_IMPORT_ERROR)


# The libvirt URIs the collection opens (docs/security.md): QEMU's system or session daemon, here or through
# SSH or TLS. Left out on purpose: qemu+tcp (libvirt's whole control channel unencrypted), qemu+ext (runs a
# program), test:///<file> (libvirt reads the file and quotes its lines in errors), and every query parameter
# that names a file (socket, keyfile, pkipath, known_hosts) or a program (command, netcat).
_URI_TRANSPORTS = ('', 'unix', 'ssh', 'libssh', 'libssh2', 'tls')
_URI_REMOTE_TRANSPORTS = ('', 'ssh', 'libssh', 'libssh2', 'tls')
_URI_PATHS = ('/system', '/session')
_URI_PARAMETERS = {'mode': ('auto', 'legacy', 'direct'), 'proxy': ('auto', 'native'), 'no_tty': ('0', '1')}
_URI_FILE_PARAMETERS = ('socket', 'keyfile', 'pkipath', 'known_hosts')
_URI_PROGRAM_PARAMETERS = ('command', 'netcat')
_URI_HOST = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]')
_URI_USER = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}')
_URI_SSH_AUTH = re.compile(r'[a-z]+(?:,[a-z]+)*')
_URI_EXAMPLES = ('qemu:///system, qemu:///session, qemu+ssh://user@host/system, qemu+tls://host/system (also '
                 'qemu+unix, qemu+libssh, qemu+libssh2) and test:///default')
TEST_URI = 'test:///default'


def validate_uri(uri):
    """``uri`` when it is a libvirt URI the collection opens, else an OptionError naming option 'uri'.

    Checked before anything is opened: libvirt itself would read a file a URI names (and repeat its lines
    in the error) or run a program it names."""
    def refuse(why):
        raise OptionError('uri', '%s %s. The collection opens %s' % (_quote(uri), why, _URI_EXAMPLES))

    if not isinstance(uri, str) or not uri.isprintable() or ' ' in uri:
        refuse('is not a single line without spaces')
    if uri == TEST_URI:
        return uri  # libvirt's in-memory test driver: opens nothing on the host
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        refuse('is not a URI')
    driver, _plus, transport = parts.scheme.partition('+')
    if driver == 'test':
        refuse('names a file for libvirt\'s test driver to read; only test:///default (in memory) is accepted')
    if driver != 'qemu':
        refuse('is not a QEMU/KVM URI (qemu://...)')
    if transport == 'ext':
        refuse('runs a program (transport ext)')
    if transport == 'tcp':
        refuse('sends libvirt\'s whole control channel unencrypted (transport tcp); use qemu+tls or qemu+ssh')
    if transport not in _URI_TRANSPORTS:
        refuse('has an unknown transport %s' % _quote(transport))
    if parts.path not in _URI_PATHS:
        refuse('does not end in /system or /session')
    if parts.fragment:
        refuse('has a fragment (#...)')
    if parts.password is not None:
        raise OptionError('uri', 'holds a password, which would be logged: give the host\'s user only and use SSH keys '
                                 'or TLS certificates (%s)' % _URI_EXAMPLES)
    if parts.hostname is None:
        if parts.netloc:
            refuse('has a user or port but no host')
    elif transport not in _URI_REMOTE_TRANSPORTS:
        refuse('names a host, but transport %s only reaches this one: drop the host, or use ssh or tls' % transport)
    else:
        host = parts.netloc.rpartition('@')[2]
        if port is not None:
            host = host[:host.rindex(':')]
        if not _URI_HOST.fullmatch(host):
            refuse('does not name a host by its name or address')
        if parts.username is not None and not _URI_USER.fullmatch(parts.username):
            refuse('does not name a user by a plain user name')
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _URI_FILE_PARAMETERS:
            refuse('names a file or socket (%s=): libvirt finds its own; configure SSH (~/.ssh/config) or TLS '
                   '(/etc/pki) for it instead' % name)
        if name in _URI_PROGRAM_PARAMETERS:
            refuse('runs a program (%s=)' % name)
        if name == 'sshauth':
            if not _URI_SSH_AUTH.fullmatch(value):
                refuse('has sshauth=%s; give methods such as sshauth=agent,privkey' % _quote(value))
        elif name not in _URI_PARAMETERS:
            refuse('has a parameter the collection does not pass to libvirt (%s=)' % _quote(name))
        elif value not in _URI_PARAMETERS[name]:
            refuse('has %s=%s; use %s' % (name, _quote(value), ' or '.join(_URI_PARAMETERS[name])))
    return uri


def _quote(text):
    """``text`` for a message: quoted, with newlines and other control characters escaped."""
    return repr(text if isinstance(text, str) else str(text))


def is_local_uri(uri):
    """True when a (validated) ``uri`` names libvirt on this host, so its guests' processes and files are here."""
    return urlsplit(uri).hostname is None


def _lock_dir():
    """A directory only this user can write: /run/nestedkvm for root, else under XDG_RUNTIME_DIR or
    the temporary directory, with a name of its own per user."""
    if os.geteuid() == 0 and os.path.isdir('/run'):
        path = '/run/nestedkvm'
    else:
        path = os.path.join(os.environ.get('XDG_RUNTIME_DIR') or tempfile.gettempdir(), 'nestedkvm-%d' % os.geteuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    status = os.lstat(path)
    if status.st_uid != os.geteuid() or status.st_mode & 0o022 or not stat.S_ISDIR(status.st_mode):
        raise NestedKvmError("lock directory %s is not a directory of this user's that only it can write: remove it"
                             % path)
    return path


def _is_not_found(exc):
    codes = [getattr(libvirt, name, None) for name in _NOT_FOUND]
    return exc.get_error_code() in codes


class Connection:
    """A libvirt connection opened once and shared by everything one module run does."""

    def __init__(self, uri):
        self.uri = validate_uri(uri)
        require_libraries()
        try:
            self.conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise NestedKvmError(
                "uri: libvirt at '%s' does not answer (%s). Check that libvirtd (or virtqemud) runs there, "
                "that this user may use it (root or the libvirt group), and that the URI is spelled right."
                % (uri, exc.get_error_message()), option='uri')
        self._capabilities = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass  # already dead: nothing to release
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, _exc_type, exc, _traceback):
        # Whatever failed, a connection that died under it is the cause to report.
        lost = exc is not None and libvirt is not None and not self.alive
        self.close()
        if lost:
            raise NestedKvmError(
                "lost the connection to libvirt at '%s' part-way (%s): libvirtd (or virtqemud) stopped or restarted. "
                "What was done so far is recorded in the domain's definition; run again once libvirt answers and it "
                "completes the work." % (self.uri, getattr(exc, 'msg', None) or exc))

    @property
    def runs_qemu_here(self):
        """True when this URI's domains run as QEMU processes of this host (a local qemu URI), so that their
        user-mode port forwards bind ports of this host."""
        return self.uri != TEST_URI and is_local_uri(self.uri)

    @property
    def alive(self):
        try:
            return self.conn is not None and self.conn.isAlive() == 1
        except libvirt.libvirtError:
            return False

    @contextlib.contextmanager
    def lock(self, name, timeout):
        """Hold a lock on domain ``name`` of this URI for the block: two runs on one host (CI jobs,
        ansible forks) that change the same domain take turns instead of racing for its volumes and
        definition. Runs from other hosts against a remote URI are not covered."""
        path = os.path.join(_lock_dir(), hashlib.sha256(('%s\0%s' % (self.uri, name)).encode()).hexdigest()[:24])
        with open(path, 'a') as lock_file:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() > deadline:
                    raise NestedKvmError("another run has been changing domain '%s' on %s for over %d s (it holds %s): "
                                         "wait for it to finish, or raise timeout" % (name, self.uri, timeout, path),
                                         option='timeout')
                time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _lookup(self, lookup, *args):
        try:
            return lookup(*args)
        except libvirt.libvirtError as exc:
            if _is_not_found(exc):
                return None
            raise

    def domain(self, name):
        return self._lookup(self.conn.lookupByName, name)

    def pool(self, name):
        return self._lookup(self.conn.storagePoolLookupByName, name)

    def volume_by_path(self, path):
        return self._lookup(self.conn.storageVolLookupByPath, path)

    def network(self, name):
        return self._lookup(self.conn.networkLookupByName, name)

    @property
    def capabilities(self):
        """What the host behind this connection offers (_capabilities.HostCapabilities), read on first use."""
        if self._capabilities is None:
            # Imported here: _capabilities uses this module's URI helpers.
            from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities

            self._capabilities = HostCapabilities.probe(self.conn)
        return self._capabilities
