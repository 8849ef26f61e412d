# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No plain-text password in what cloud-init reads as configuration: a cloud-config mapping, and user-data given as
text (a #cloud-config document, the parts of a MIME multi-part message, the entries of a #cloud-config-archive).

The NoCloud seed is readable by whoever can read the volume, and its user-data is kept in the guest's
/var/lib/cloud: a password in it must be a crypt(3) hash. A refusal names where the password is, never the value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email
import gzip
import re
import zlib

try:
    import yaml  # cloud-init reads user-data with PyYAML; so does the check for plain-text passwords in it
except ImportError:  # a host without it: see _check_cloud_config_text
    yaml = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError


def check_hashed_passwords(config, where='', option='cloud_init.user_data'):
    """Refuse plain-text passwords in a cloud-config mapping: the seed is readable by whoever can read the
    volume, and its user-data is kept in the guest's /var/lib/cloud. ``where`` names the part it came from."""
    def refuse(message):
        raise OptionError(option, where + message)

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


def _load_yaml(text, where, what, option):
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        # PyYAML's message quotes the text around the error: only the position is given.
        mark = getattr(exc, 'problem_mark', None)
        position = ' (line %d, column %d)' % (mark.line + 1, mark.column + 1) if mark is not None else ''
        raise OptionError(option, '%sthe %s is not valid YAML%s, so cloud-init would ignore it; correct it'
                                  % (where, what, position)) from None


def _check_cloud_config_text(text, where, option):
    if yaml is None:
        if _MAY_HOLD_A_PASSWORD.search(_NOT_A_PASSWORD.sub(' ', text)):
            raise OptionError(option, "%sPyYAML is not installed where this module runs, so this #cloud-config text "
                                      "cannot be read to check it for plain-text passwords, and it names a password "
                                      "key (or has a backslash escape, which could spell one). Install PyYAML on "
                                      "that host (python3-yaml on Debian and Ubuntu, python3-pyyaml on RHEL; the "
                                      "l0_host role does), or give %s as a mapping" % (where, option.split('.')[-1]))
        return
    config = _load_yaml(text, where, '#cloud-config document', option)
    if config is None:
        return
    if not isinstance(config, dict):
        raise OptionError(option, '%sthe #cloud-config document is a %s, not a mapping, so cloud-init would '
                                  'ignore it' % (where, _yaml_kind(config)))
    check_hashed_passwords(config, where, option)


def _check_archive_text(text, where, option):
    if yaml is None:
        _check_cloud_config_text(text, where, option)  # the same look at the text: its entries are in it as written
        return
    entries = _load_yaml(text, where, '#cloud-config-archive', option)
    if not isinstance(entries, list):
        raise OptionError(option, '%sa #cloud-config-archive must be a list of parts, not a %s'
                                  % (where, _yaml_kind(entries)))
    for number, entry in enumerate(entries, 1):
        if isinstance(entry, str):
            entry = {'content': entry}
        if not isinstance(entry, dict) or not isinstance(entry.get('content'), str):
            continue
        content_type = entry.get('type') or _type_by_start(entry['content'], _CLOUD_CONFIG)
        if content_type == _CLOUD_CONFIG:
            _check_cloud_config_text(entry['content'], _within(where, 'archive entry %d' % number), option)


def _within(where, label):
    """The prefix of a refusal about ``label`` inside the part ``where`` ('' for the whole user-data)."""
    return '%s, %s: ' % (where[:-2], label) if where else label + ': '


def _yaml_kind(value):
    return {list: 'list', str: 'string'}.get(type(value), type(value).__name__)


def check_user_data_text(text, option='cloud_init.user_data'):
    """Refuse plain-text passwords in what cloud-init reads as configuration in user-data ``text``."""
    for where, content_type, part in _user_data_parts(text):
        if content_type == _CLOUD_CONFIG:
            _check_cloud_config_text(part, where, option)
        elif content_type == _ARCHIVE:
            _check_archive_text(part, where, option)


def check_document(document, option):
    """Refuse plain-text passwords in a user-data or vendor-data document: a mapping, or text cloud-init reads."""
    if isinstance(document, dict):
        check_hashed_passwords(document, option=option)
    elif document is not None:
        check_user_data_text(document, option)
