# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seed (the ``cidata`` CD-ROM), built in memory with the standard library only.

The domain modules run on the target host and push the image through libvirt's volume upload
API, so this cannot shell out to genisoimage/xorriso nor import pycdlib: the ISO 9660 image
(ECMA-119, plus a Joliet supplementary descriptor for the lowercase names cloud-init looks for)
is laid out here by hand.

Output is byte-for-byte deterministic for a given input (fixed timestamps, sorted names): the
modules compare the checksum of the wanted seed with the existing volume to stay idempotent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import email
import gzip
import hashlib
import json
import math
import re
import struct
import zlib

try:
    import yaml  # cloud-init reads user-data with PyYAML; so does the check for plain-text passwords in it
except ImportError:  # a host without it: see _check_cloud_config_text
    yaml = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

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


# --------------------------------------------------------------------------- ISO 9660 / Joliet


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


# --------------------------------------------------------------------------- cloud-init documents

# Characters that must not appear literally in the JSON-as-YAML output: C0/C1 controls other than
# tab and newline, YAML's extra line breaks (NEL, LS, PS: YAML would fold them inside a quoted
# scalar and change the value) and the BMP non-characters PyYAML refuses. Escaping them as \uXXXX
# is valid JSON and valid YAML. Surrogates are left alone so that the UTF-8 encode rejects them.
_YAML_UNSAFE = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]')


def _check_plain_data(value, option, where='value'):
    """Reject anything that would not survive JSON-as-YAML unchanged (the message names the path)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        text = repr(value)
        # PyYAML (YAML 1.1) reads 1e-05 or inf as strings: only plain decimals round-trip.
        if not math.isfinite(value) or 'e' in text or 'E' in text:
            # Not repeated: any value here can be a secret.
            raise OptionError(option, '%s is a number in exponent form or not finite, which YAML 1.1 would read '
                                      'back as a string; write it as a quoted string or a plain decimal' % where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise OptionError(option, 'key %r in %s is a %s; cloud-init keys must be strings, quote it'
                                          % (key, where, type(key).__name__))
            _check_plain_data(item, option, '%s.%s' % (where, key) if where != 'value' else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain_data(item, option, '%s[%d]' % (where, index))
        return
    raise OptionError(option, '%s is a %s; only mappings, lists, strings, numbers, booleans and null '
                              'can be written to cloud-init' % (where, type(value).__name__))


def to_yaml(value):
    """Render plain data as YAML text: JSON with sorted keys, escaped where YAML differs from JSON.

    JSON is a subset of YAML 1.2 and, with the float and character caveats handled here and in
    _check_plain_data, reads back identically with PyYAML (YAML 1.1), which is what cloud-init
    uses. That beats a home-made block-style emitter: no quoting rules to get wrong (``on``,
    ``no``, ``0755``, ``:`` in values...), and sorted keys make the output deterministic.
    """
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, separators=(',', ': '))
    return _YAML_UNSAFE.sub(lambda m: '\\u%04x' % ord(m.group(0)), text) + '\n'


# --------------------------------------------------------------------------- NoCloud seed

CLOUD_INIT_KEYS = ('hostname', 'ssh_authorized_keys', 'ssh_host_keys', 'user_data', 'vendor_data', 'network_config')

_HOSTNAME_LABEL = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
# cloud-init ignores a user-data part it cannot classify, so a string must start like one it knows:
# '#cloud-config', '#!', '#include', '#cloud-boothook', '## template: jinja' ... or a MIME message.
_RAW_USER_DATA_START = re.compile(r'^(#|content-type:|mime-version:|from )', re.IGNORECASE)


# cloud-init's names (ssh_keys: <name>_private/<name>_public) for OpenSSH key types.
_HOST_KEY_TYPES = {'ssh-ed25519': 'ed25519', 'ssh-rsa': 'rsa', 'ecdsa-sha2-nistp256': 'ecdsa',
                   'ecdsa-sha2-nistp384': 'ecdsa', 'ecdsa-sha2-nistp521': 'ecdsa'}
_OPENSSH_KEY = re.compile(r'-----BEGIN OPENSSH PRIVATE KEY-----\s*(.+?)\s*-----END OPENSSH PRIVATE KEY-----', re.DOTALL)


def host_public_key(private_key, option='cloud_init.ssh_host_keys'):
    """The public key line ('ssh-ed25519 AAAA...') of an unencrypted OpenSSH private key.

    The openssh-key-v1 format carries the public key in the clear right after the cipher and KDF
    names, so no cryptography library is needed to derive it.
    """
    match = _OPENSSH_KEY.search(private_key or '')
    if not match:
        raise OptionError(option, 'each item must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----, '
                                  'as `ssh-keygen -t ed25519 -N ""` writes it)')
    try:
        data = base64.b64decode(''.join(match.group(1).split()), validate=True)
        if not data.startswith(b'openssh-key-v1\0'):
            raise ValueError('not openssh-key-v1')
        fields, offset = [], len(b'openssh-key-v1\0')
        for _field in ('cipher', 'kdf', 'kdf options'):
            length = struct.unpack('>I', data[offset:offset + 4])[0]
            fields.append(data[offset + 4:offset + 4 + length])
            offset += 4 + length
        offset += 4  # number of keys
        length = struct.unpack('>I', data[offset:offset + 4])[0]
        blob = data[offset + 4:offset + 4 + length]
        key_type = blob[4:4 + struct.unpack('>I', blob[:4])[0]].decode('ascii')
    except (binascii.Error, ValueError, struct.error, UnicodeDecodeError):
        raise OptionError(option, 'an item is not a readable OpenSSH private key; write a new one with '
                                  '`ssh-keygen -t ed25519 -N "" -f <file>`')
    if fields[0] != b'none':
        raise OptionError(option, 'a host key is encrypted with a passphrase; the guest cannot use it: give an '
                                  'unencrypted key (ssh-keygen -N "")')
    if key_type not in _HOST_KEY_TYPES:
        raise OptionError(option, 'host keys of type %s are not supported; use ed25519, ecdsa or rsa' % key_type)
    return '%s %s' % (key_type, base64.b64encode(blob).decode('ascii'))


def _host_keys(keys):
    """cloud-init's ``ssh_keys`` mapping for ``cloud_init.ssh_host_keys`` (private keys)."""
    result = {}
    for key in keys or ():
        public = host_public_key(key)
        name = _HOST_KEY_TYPES[public.split()[0]]
        if name + '_private' in result:
            raise OptionError('cloud_init.ssh_host_keys', 'two %s keys; give at most one key of each type' % name)
        result[name + '_private'] = key.strip() + '\n'
        result[name + '_public'] = public
    return result


def _check_hashed_passwords(config, where=''):
    """Refuse plain-text passwords in a cloud-config mapping: the seed is readable by whoever can read the
    volume, and its user-data is kept in the guest's /var/lib/cloud. ``where`` names the part it came from."""
    def refuse(message):
        raise OptionError('cloud_init.user_data', where + message)

    advice = ("give a crypt(3) hash as 'passwd' instead, e.g. {{ secret | password_hash('sha512') }}; "
              "better, SSH keys and lock_passwd: true")
    if 'password' in config:
        refuse("'password' sets a plain-text password: " + advice)
    for path in _keys_named(config, 'plain_text_passwd'):
        refuse("%s is a plain-text password: %s" % (path, advice))
    for account, user in _accounts(config):
        for key, value in user.items():
            if _user_key(key) in ('passwd', 'hashed_passwd') and not _is_crypt_hash(value):
                refuse("%s.%s is not a crypt(3) hash (such as $6$<salt>$<hash>); a plain-text password is "
                       "refused: %s" % (account, key, advice))
    chpasswd = config.get('chpasswd')
    if isinstance(chpasswd, dict):
        if 'list' in chpasswd:
            refuse("chpasswd.list holds plain-text passwords: use chpasswd.users with type: hash, or " + advice)
        for index, user in enumerate(_as_list(chpasswd.get('users'))):
            if isinstance(user, dict) and 'password' in user and user.get('type') != 'hash':
                refuse("chpasswd.users[%d] is not of type: hash; give its crypt(3) hash with type: hash "
                       "(RANDOM is also fine)" % index)


def _accounts(config):
    """(path, settings) of every account a cloud-config describes, in each form cloud-init reads."""
    users = config.get('users')
    if isinstance(users, dict):  # the older {name: settings} form
        entries = [('users.%s' % name, user) for name, user in users.items()]
    else:
        entries = [('users[%d]' % index, user) for index, user in enumerate(_as_list(users))]
    entries.append(('user', config.get('user')))  # the older single default user
    system_info = config.get('system_info')
    if isinstance(system_info, dict):
        entries.append(('system_info.default_user', system_info.get('default_user')))
    return [(path, user) for path, user in entries if isinstance(user, dict)]


def _user_key(key):
    # cloud-init reads a user's settings with '-' as '_' and without surrounding spaces.
    return key.replace('-', '_').strip() if isinstance(key, str) else key


# What crypt(3) writes ($<id>$[<params>$]<salt>$<hash>: sha512crypt, yescrypt, bcrypt...), or a lock ('!', '*').
# Old 13-character DES hashes cannot be told from a plain-text password and are refused too.
_CRYPT_HASH = re.compile(r'\$[0-9a-z]{1,2}\$[^\s:$]+(\$[^\s:$]*){1,3}|[!*]')


def _is_crypt_hash(value):
    return isinstance(value, str) and _CRYPT_HASH.fullmatch(value) is not None


def _as_list(value):
    return value if isinstance(value, list) else []


def _keys_named(value, name, where='', seen=None):
    """The paths (users[0].plain_text_passwd ...) of every key ``name`` anywhere in ``value``, in cloud-init's
    spelling of a user's settings. Parsed YAML can share a node or contain itself: each is visited once."""
    seen = set() if seen is None else seen
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            return
        seen.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            path = '%s.%s' % (where, key) if where else str(key)
            if _user_key(key) == name:
                yield path
            yield from _keys_named(item, name, path, seen)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keys_named(item, name, '%s[%d]' % (where, index), seen)


# --------------------------------------------------------------------------- passwords in user-data given as text
#
# cloud-init reads user-data text as one part, or as a MIME multi-part message when 'mime-version:' is in its
# first 4096 characters; a part's type is its Content-Type, or, for text/plain, its first characters (lower
# case, leading space ignored). What it reads as configuration - #cloud-config documents and the entries of a
# #cloud-config-archive - is checked like a mapping. Scripts, boothooks, part handlers, #include (fetched by the
# guest), jinja templates (rendered by the guest) and #cloud-config-jsonp patches are passed through unchecked.

_CLOUD_CONFIG = 'text/cloud-config'
_ARCHIVE = 'text/cloud-config-archive'
# The first characters cloud-init knows a part by; longest first, as '#cloud-config-archive' also starts
# with '#cloud-config'.
_STARTS = tuple(sorted((
    ('#include', 'text/x-include-url'), ('#include-once', 'text/x-include-once-url'), ('#!', 'text/x-shellscript'),
    ('#cloud-config', _CLOUD_CONFIG), ('#cloud-config-archive', _ARCHIVE),
    ('#cloud-config-jsonp', 'text/cloud-config-jsonp'), ('#upstart-job', 'text/upstart-job'),
    ('#part-handler', 'text/part-handler'), ('#cloud-boothook', 'text/cloud-boothook'),
    ('## template: jinja', 'text/jinja2')), key=lambda start: -len(start[0])))
_TYPED_BY_START = ('text/plain', 'text/x-not-multipart')
_GZIP_TYPES = frozenset(('application/gzip', 'application/gzip-compressed', 'application/gzipped',
                         'application/x-compress', 'application/x-compressed', 'application/x-gunzip',
                         'application/x-gzip', 'application/x-gzip-compressed'))
# Without PyYAML the text itself is looked at: every key that can carry a password (password, passwd,
# plain_text_passwd, hashed_passwd, chpasswd) contains 'passw', or is spelled with a backslash escape.
_MAY_HOLD_A_PASSWORD = re.compile(r'passw|\\', re.IGNORECASE)
_NOT_A_PASSWORD = re.compile(r'lock[-_]passwd', re.IGNORECASE)


def _type_by_start(text, default):
    start = text.lstrip().lower()
    for prefix, content_type in _STARTS:
        if start.startswith(prefix):
            return content_type
    return default


def _user_data_parts(text):
    """(where, MIME type, text) of every part cloud-init reads in user-data ``text``."""
    if 'mime-version:' not in text[:4096].lower():
        return [('', _type_by_start(text, 'text/x-not-multipart'), text)]
    parts = []
    leaves = [part for part in email.message_from_string(text).walk() if not part.is_multipart()]
    for number, part in enumerate(leaves, 1):
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True) or b''
        if content_type in _GZIP_TYPES:
            try:
                payload = gzip.decompress(payload)
            except (OSError, EOFError, zlib.error):
                continue  # cloud-init skips a part it cannot decompress
            content_type = 'text/plain'
        payload = payload.decode('utf-8', 'replace')
        if content_type in _TYPED_BY_START:
            content_type = _type_by_start(payload, content_type)
        parts.append((_within('', 'MIME part %d' % number), content_type, payload))
    return parts


def _load_yaml(text, where, what):
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        # PyYAML's message quotes the text around the error: only the position is given.
        mark = getattr(exc, 'problem_mark', None)
        position = ' (line %d, column %d)' % (mark.line + 1, mark.column + 1) if mark is not None else ''
        raise OptionError('cloud_init.user_data', '%sthe %s is not valid YAML%s, so cloud-init would ignore it; '
                                                  'correct it' % (where, what, position)) from None


def _check_cloud_config_text(text, where):
    if yaml is None:
        if _MAY_HOLD_A_PASSWORD.search(_NOT_A_PASSWORD.sub(' ', text)):
            raise OptionError('cloud_init.user_data', "%sPyYAML is not installed where this module runs, so this "
                                                      "#cloud-config text cannot be read to check it for plain-text "
                                                      "passwords, and it names a password key (or has a backslash "
                                                      "escape, which could spell one). Install PyYAML on that host "
                                                      "(python3-yaml on Debian and Ubuntu, python3-pyyaml on RHEL; "
                                                      "the l0_host role does), or give user_data as a mapping" % where)
        return
    config = _load_yaml(text, where, '#cloud-config document')
    if config is None:
        return
    if not isinstance(config, dict):
        raise OptionError('cloud_init.user_data', '%sthe #cloud-config document is a %s, not a mapping, so '
                                                  'cloud-init would ignore it' % (where, _yaml_kind(config)))
    _check_hashed_passwords(config, where)


def _check_archive_text(text, where):
    if yaml is None:
        _check_cloud_config_text(text, where)  # the same look at the text: its entries are in it as written
        return
    entries = _load_yaml(text, where, '#cloud-config-archive')
    if not isinstance(entries, list):
        raise OptionError('cloud_init.user_data', '%sa #cloud-config-archive must be a list of parts, not a %s'
                                                  % (where, _yaml_kind(entries)))
    for number, entry in enumerate(entries, 1):
        if isinstance(entry, str):
            entry = {'content': entry}
        if not isinstance(entry, dict) or not isinstance(entry.get('content'), str):
            continue
        content_type = entry.get('type') or _type_by_start(entry['content'], _CLOUD_CONFIG)
        if content_type == _CLOUD_CONFIG:
            _check_cloud_config_text(entry['content'], _within(where, 'archive entry %d' % number))


def _within(where, label):
    """The prefix of a refusal about ``label`` inside the part ``where`` ('' for the whole user-data)."""
    return '%s, %s: ' % (where[:-2], label) if where else label + ': '


def _yaml_kind(value):
    return {list: 'list', str: 'string'}.get(type(value), type(value).__name__)


def _check_user_data_text(text):
    """Refuse plain-text passwords in what cloud-init reads as configuration in user-data ``text``."""
    for where, content_type, part in _user_data_parts(text):
        if content_type == _CLOUD_CONFIG:
            _check_cloud_config_text(part, where)
        elif content_type == _ARCHIVE:
            _check_archive_text(part, where)


def _valid_hostname(name):
    if not isinstance(name, str) or not name or len(name) > 253:
        return False
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in name.split('.'))


def _encode(text, option):
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError as exc:
        raise OptionError(option, 'contains %r, which is not valid Unicode text (lone surrogate); '
                                  'remove it' % (exc.object[exc.start:exc.end],)) from None


class NoCloudSeed(object):
    """The NoCloud files for one domain, from the modules' ``cloud_init`` option.

    Keys (None means "not given", as AnsibleModule fills unset sub-options with None):

    ``hostname``
        meta-data ``local-hostname``; defaults to the domain name when that is a valid hostname.
    ``ssh_authorized_keys``
        list of public key lines for the image's default user. They are written to meta-data
        ``public-keys`` (which cloud-init applies whatever the user-data format, even a shell
        script) and, when ``user_data`` is a mapping, merged into its top-level
        ``ssh_authorized_keys`` (cloud-init's list for the default user). Keys for other users
        belong in that user's entry of ``user_data.users``.
    ``user_data`` / ``vendor_data``
        a mapping, rendered as ``#cloud-config`` (see to_yaml), or a string passed through
        unchanged (``#cloud-config`` text, a ``#!`` script, a MIME multipart message...).
        Plain-text passwords (``password``, ``plain_text_passwd``, a ``passwd`` that is not a crypt(3)
        hash, ``chpasswd.list``, ``chpasswd.users`` not of type hash) are refused, in a mapping and in
        what cloud-init reads as configuration in a string (see _check_user_data_text), since the seed
        is readable by anyone who can read the volume.
    ``ssh_host_keys``
        OpenSSH private keys the guest uses as its SSH host keys (cloud-init ``ssh_keys``, with the
        public halves derived here), so the controller can trust the guest's key before first
        contact. Needs ``user_data`` as a mapping or none.
    ``network_config``
        a network configuration mapping, version 1 or 2 (a top-level ``network:`` wrapper is
        removed, as older cloud-init releases only accept the bare form in NoCloud).

    ``instance-id`` is the domain name plus a hash of every other seed byte: stable while the
    input is unchanged, new (so cloud-init runs again) as soon as any of it changes.
    """

    def __init__(self, domain_name, cloud_init):
        if not isinstance(domain_name, str) or not domain_name:
            raise OptionError('name', 'the domain name must be a non-empty string')
        if cloud_init is None:
            cloud_init = {}
        if not isinstance(cloud_init, dict):
            raise OptionError('cloud_init', 'must be a mapping with keys among %s, got a %s'
                                            % (', '.join(CLOUD_INIT_KEYS), type(cloud_init).__name__))
        unknown = sorted(set(cloud_init) - set(CLOUD_INIT_KEYS), key=str)
        if unknown:
            raise OptionError('cloud_init', 'unknown key(s) %s; supported keys are %s'
                                            % (', '.join(map(str, unknown)), ', '.join(CLOUD_INIT_KEYS)))
        self.domain_name = domain_name
        self.hostname = self._hostname(cloud_init.get('hostname'), domain_name)
        self.ssh_authorized_keys = self._keys(cloud_init.get('ssh_authorized_keys'))
        host_keys = cloud_init.get('ssh_host_keys')
        if host_keys is not None and (isinstance(host_keys, str) or not isinstance(host_keys, (list, tuple))):
            raise OptionError('cloud_init.ssh_host_keys', 'must be a list of private keys')
        self.ssh_host_keys = _host_keys(host_keys)
        user_data = self._document(cloud_init.get('user_data'), 'cloud_init.user_data')
        vendor_data = self._document(cloud_init.get('vendor_data'), 'cloud_init.vendor_data')
        network_config = self._network_config(cloud_init.get('network_config'))

        files = {}
        files['user-data'] = self._render_user_data(user_data)
        if vendor_data is not None:
            files['vendor-data'] = self._render_document(vendor_data, 'cloud_init.vendor_data')
        if network_config is not None:
            files['network-config'] = _encode(to_yaml(network_config), 'cloud_init.network_config')

        meta = {}
        if self.hostname is not None:
            meta['local-hostname'] = self.hostname
        if self.ssh_authorized_keys:
            meta['public-keys'] = list(self.ssh_authorized_keys)
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(('%s\x00%d\x00' % (name, len(files[name]))).encode('ascii'))
            digest.update(files[name])
        digest.update(to_yaml([domain_name, meta]).encode('utf-8'))
        safe_name = re.sub(r'[^A-Za-z0-9._-]+', '-', domain_name).strip('-') or 'domain'
        self.instance_id = 'iid-%s-%s' % (safe_name, digest.hexdigest()[:16])
        meta['instance-id'] = self.instance_id
        files['meta-data'] = _encode(to_yaml(meta), 'cloud_init.ssh_authorized_keys')
        self.files = files

    @staticmethod
    def _hostname(hostname, domain_name):
        if hostname is None:
            return domain_name if _valid_hostname(domain_name) else None
        if not isinstance(hostname, str):
            raise OptionError('cloud_init.hostname', 'must be a string, got a %s' % type(hostname).__name__)
        if not _valid_hostname(hostname):
            raise OptionError('cloud_init.hostname', '%r is not a valid hostname: use dot-separated labels of '
                                                     '1-63 letters, digits and inner hyphens (253 characters '
                                                     'at most, no trailing dot)' % (hostname,))
        return hostname

    @staticmethod
    def _keys(keys):
        option = 'cloud_init.ssh_authorized_keys'
        if keys is None:
            return []
        if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
            raise OptionError(option, 'must be a list of public key strings (one key per item), got a %s'
                                      % type(keys).__name__)
        result = []
        for index, key in enumerate(keys):
            if not isinstance(key, str):
                raise OptionError(option, 'item %d is a %s; each item must be one public key line as a string'
                                          % (index, type(key).__name__))
            key = key.strip()
            if not key:
                raise OptionError(option, 'item %d is empty; remove it or give a public key' % index)
            if 'PRIVATE KEY' in key:
                raise OptionError(option, 'item %d is a private key; give the public key (the .pub file) instead'
                                          % index)
            if '\n' in key or '\r' in key:
                raise OptionError(option, 'item %d spans several lines; give one key per list item' % index)
            if key not in result:
                result.append(key)
        return result

    @staticmethod
    def _document(value, option):
        if value is None:
            return None
        if isinstance(value, dict):
            _check_plain_data(value, option)
            return value
        if isinstance(value, str):
            if value and not _RAW_USER_DATA_START.match(value):
                raise OptionError(option, 'a string must start the way cloud-init recognises, e.g. '
                                          "'#cloud-config', '#!' (script) or a MIME header, otherwise "
                                          'cloud-init silently ignores it; or give a mapping, which is '
                                          'rendered as #cloud-config')
            return value
        raise OptionError(option, 'must be a mapping (rendered as #cloud-config) or a string passed through '
                                  'unchanged, got a %s' % type(value).__name__)

    @staticmethod
    def _network_config(value):
        option = 'cloud_init.network_config'
        if value is None:
            return None
        if not isinstance(value, dict):
            raise OptionError(option, 'must be a mapping (network config version 1 or 2), got a %s'
                                      % type(value).__name__)
        if set(value) == {'network'} and isinstance(value['network'], dict):
            value = value['network']
        _check_plain_data(value, option)
        if value.get('config') == 'disabled':
            return value
        if value.get('version') not in (1, 2):
            raise OptionError(option, "needs 'version: 1' or 'version: 2' at its top level (got %r); "
                                      "or use 'config: disabled' to turn networking off"
                                      % (value.get('version'),))
        return value

    @staticmethod
    def _render_document(value, option):
        if isinstance(value, str):
            return _encode(value, option)
        return _encode('#cloud-config\n' + to_yaml(value), option)

    def _render_user_data(self, user_data):
        option = 'cloud_init.user_data'
        if self.ssh_host_keys:
            if user_data is not None and not isinstance(user_data, dict):
                raise OptionError('cloud_init.ssh_host_keys', 'needs user_data as a mapping (or none), to add '
                                                              'ssh_keys to it; put the keys in your own user_data')
            if user_data and 'ssh_keys' in user_data:
                raise OptionError(option, 'ssh_keys is set here and by cloud_init.ssh_host_keys: use one')
            user_data = dict(user_data or {}, ssh_keys=self.ssh_host_keys)
        if isinstance(user_data, dict):
            _check_hashed_passwords(user_data)
            if self.ssh_authorized_keys:
                existing = user_data.get('ssh_authorized_keys') or []
                if isinstance(existing, str) or not isinstance(existing, (list, tuple)):
                    raise OptionError(option, 'ssh_authorized_keys must be a list when cloud_init.'
                                              'ssh_authorized_keys is also given (they are merged)')
                merged = list(existing) + [k for k in self.ssh_authorized_keys if k not in existing]
                user_data = dict(user_data, ssh_authorized_keys=merged)
            return self._render_document(user_data, option)
        if user_data is None:
            # NoCloud needs a user-data file even when there is nothing to say; the keys still reach
            # the default user through meta-data public-keys.
            return b'#cloud-config\n{}\n'
        _check_user_data_text(user_data)
        return self._render_document(user_data, option)

    def iso(self, mtime=None):
        return build_iso(self.files, volume_id='cidata', mtime=mtime)


def seed_files(domain_name, cloud_init):
    """Map of NoCloud file name to bytes for ``domain_name`` (raises OptionError on bad input)."""
    return NoCloudSeed(domain_name, cloud_init).files


def seed_iso(domain_name, cloud_init):
    """The ``cidata`` ISO image (bytes) to attach to ``domain_name`` as a CD-ROM."""
    return NoCloudSeed(domain_name, cloud_init).iso()
