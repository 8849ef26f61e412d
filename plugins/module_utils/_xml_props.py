# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""XML properties declared by where they live, read and written in place.

A ``Prop`` names one value by a path below an element (``driver/@type``, ``memory``, ``readonly``);
an ``Each`` names a repeated child element and the props of each item. The same declaration builds
a new element from data (``build``), reads a value back (``Prop.get``) and lays one element's
declared values onto another element in place (``lay``), so what a declaration does not name (a
child a person added, libvirt's addresses) stays where it is. The idea is virt-manager's virtinst
(XMLProperty); this is a small one of our own.

Paths are a small part of XPath: steps separated by '/', each a tag with an optional namespace
prefix and optional ``[@name='value']`` conditions, the last step optionally ``@attribute``.
Writing through a path creates the missing elements (with their conditions' attributes); removing
a value removes the elements it leaves empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

_STEP = re.compile(r"^(?:(?P<prefix>[\w.-]+):)?(?P<tag>[\w.-]+)(?P<conditions>(?:\[@[\w.-]+='[^']*'\])*)$")
_CONDITION = re.compile(r"\[@([\w.-]+)='([^']*)'\]")

ATTRIBUTE, TEXT, PRESENCE = 'attribute', 'text', 'presence'


class Path:
    """A parsed path: its element steps ((Clark tag, conditions, prefix), ...) and the attribute at the end, if any."""

    def __init__(self, text, namespaces):
        parts = text.split('/') if text not in ('', '.') else []
        self.attribute = parts.pop()[1:] if parts and parts[-1].startswith('@') else None
        self.steps = []
        for part in parts:
            match = _STEP.match(part)
            if match is None:
                raise ValueError('unsupported XML path step %r in %r' % (part, text))
            prefix = match.group('prefix')
            tag = match.group('tag') if prefix is None else '{%s}%s' % (namespaces[prefix], match.group('tag'))
            self.steps.append((tag, tuple(_CONDITION.findall(match.group('conditions'))), prefix))
        self.text = text

    def find(self, element):
        """The element the path's steps lead to below ``element``, or None."""
        for tag, conditions, _prefix in self.steps:
            element = next((child for child in element if _matches(child, tag, conditions)), None)
            if element is None:
                return None
        return element

    def make(self, element, namespaces):
        """The element the steps lead to, made (with its conditions' attributes) where missing."""
        for tag, conditions, prefix in self.steps:
            found = next((child for child in element if _matches(child, tag, conditions)), None)
            if found is None:
                found = _new(element, tag, prefix, namespaces, dict(conditions))
            element = found
        return element

    def prune(self, element, target):
        """Remove ``target`` and then its ancestors up to ``element``, for as long as each holds nothing but the
        attributes its own step asks for: a removed value leaves no empty element behind."""
        conditions_of = {}
        node = element
        for tag, conditions, _prefix in self.steps:
            node = next((child for child in node if _matches(child, tag, conditions)), None)
            if node is None:
                return
            conditions_of[node] = dict(conditions)
        while target is not None and target is not element:
            parent = target.getparent()
            if len(target) or (target.text or '').strip() or set(target.attrib) - set(conditions_of.get(target, ())):
                return
            parent.remove(target)
            target = parent


def _matches(child, tag, conditions):
    return child.tag == tag and all(child.get(name) == value for name, value in conditions)


class Prop:
    """One value at ``path``: an attribute (``@name`` at the end), an element's text (``text=True``), or whether an
    element is there at all (``presence=True``; the value is True or None).

    ``value`` computes it from the record being built (a constant is taken as is). ``keep`` leaves the target's
    value alone when the source has none: a value that is the target's own (a MAC libvirt chose), or one that is
    ours only under a condition of the source element (``keep`` is then called with it)."""

    def __init__(self, path, value=None, text=False, presence=False, keep=False, namespaces=None):
        self.path = Path(path, namespaces or {})
        self.namespaces = namespaces or {}
        self.kind = ATTRIBUTE if self.path.attribute else (TEXT if text else PRESENCE if presence else None)
        if self.kind is None:
            raise ValueError('%s: a path to an element needs text=True or presence=True' % path)
        self.value = value if callable(value) else (lambda _record: value)
        self.keep = keep

    def get(self, element):
        target = self.path.find(element)
        if target is None:
            return None
        if self.kind == ATTRIBUTE:
            return target.get(self.path.attribute)
        if self.kind == TEXT:
            return target.text
        return True

    def set(self, element, value):
        """Write ``value`` (None removes it) in place."""
        if value is None or value is False:
            target = self.path.find(element)
            if target is None:
                return
            if self.kind == ATTRIBUTE:
                target.attrib.pop(self.path.attribute, None)
            elif self.kind == TEXT:
                target.text = None
            else:
                parent = target.getparent()
                parent.remove(target)
                target = parent
            self.path.prune(element, target)
            return
        target = self.path.make(element, self.namespaces)
        if self.kind == ATTRIBUTE:
            target.set(self.path.attribute, str(value))
        elif self.kind == TEXT:
            target.text = str(value)

    def build(self, element, record):
        self.set(element, self.value(record))

    def lay(self, target, source):
        value = self.get(source)
        if value is None and (self.keep(source) if callable(self.keep) else self.keep):
            return
        self.set(target, value)


class Each:
    """A repeated child ``tag`` below ``parent`` (a path), one item per record of ``items(record)``, each item built
    from ``props`` (Props and Eachs relative to the item).

    ``owns`` picks which existing elements of that tag are the collection's (the others are left alone);
    ``claim_only_built`` leaves them alone too when the source has none. Items are paired with their twins by
    ``key`` (an element -> hashable function), or by ``pair`` (live items, source items) -> [(live or None, source)]
    where pairing needs more than a key, or by position."""

    def __init__(self, parent, tag, items, props=(), key=None, pair=None, owns=None, claim_only_built=False,
                 namespaces=None):
        self.namespaces = namespaces or {}
        self.parent = Path(parent, self.namespaces)
        self.tag = Path(tag, self.namespaces).steps[0][0]
        self.prefix = tag.split(':')[0] if ':' in tag else None
        self.items = items
        self.props = tuple(props)
        self.key = key
        self.pair = pair or (_pair_by_key(key) if key is not None else _pair_by_position)
        self.owns = owns or (lambda element: True)
        self.claim_only_built = claim_only_built

    def mine(self, element):
        """The collection's items below ``element``, in document order."""
        parent = self.parent.find(element)
        if parent is None:
            return []
        return [child for child in parent if child.tag == self.tag and self.owns(child)]

    def build(self, element, record):
        records = list(self.items(record))
        if not records:
            return
        parent = self.parent.make(element, self.namespaces)
        for item in records:
            child = _new(parent, self.tag, self.prefix, self.namespaces)
            for prop in self.props:
                prop.build(child, item)

    def lay(self, target, source):
        wanted = self.mine(source)
        if not wanted and self.claim_only_built:
            return
        present = self.mine(target)
        pairs = self.pair(present, wanted)
        paired = {id(live) for live, _source in pairs if live is not None}
        parent = self.parent.find(target)
        # Items that stay keep their place; new ones go after the last item placed, else where the first old one
        # stood, else at the end of the parent.
        anchor = None
        first = present[0] if present else None
        for live, item in pairs:
            if live is None:
                if parent is None:
                    parent = self.parent.make(target, self.namespaces)
                live = copy.deepcopy(item)
                live.tail = None
                if anchor is not None:
                    anchor.addnext(live)
                elif first is not None:
                    first.addprevious(live)
                else:
                    parent.append(live)
            else:
                for prop in self.props:
                    prop.lay(live, item)
            anchor = live
        for live in present:
            if id(live) not in paired:
                live.getparent().remove(live)
        if parent is not None and not wanted:
            self.parent.prune(target, parent)


class Whole:
    """An element at ``path`` that is the collection's as a whole, made by ``make(record)`` (None: no element).
    Laid onto another element, it replaces that one's in its place."""

    def __init__(self, path, make, namespaces=None):
        self.namespaces = namespaces or {}
        self.path = Path(path, self.namespaces)
        self.parent = Path('/'.join(path.split('/')[:-1]), self.namespaces)
        self.make = make

    def build(self, element, record):
        made = self.make(record)
        if made is not None:
            self.parent.make(element, self.namespaces).append(made)

    def lay(self, target, source):
        wanted = self.path.find(source)
        present = self.path.find(target)
        if wanted is None:
            if present is not None:
                parent = present.getparent()
                parent.remove(present)
                self.parent.prune(target, parent)
            return
        wanted = copy.deepcopy(wanted)
        if present is None:
            wanted.tail = None
            self.parent.make(target, self.namespaces).append(wanted)
        else:
            wanted.tail = present.tail
            present.getparent().replace(present, wanted)


def _new(parent, tag, prefix, namespaces, attributes=None):
    """A new last child of ``parent``; its namespace prefix is declared on it unless in scope already."""
    nsmap = {prefix: namespaces[prefix]} if prefix and parent.nsmap.get(prefix) != namespaces[prefix] else None
    child = parent.makeelement(tag, attributes or {}, nsmap=nsmap)
    parent.append(child)
    return child


def _pair_by_position(present, wanted):
    return [(present[i] if i < len(present) else None, item) for i, item in enumerate(wanted)]


def _pair_by_key(key):
    def pair(present, wanted):
        free = list(present)
        pairs = []
        for item in wanted:
            twin = next((live for live in free if key(live) == key(item)), None)
            if twin is not None:
                free.remove(twin)
            pairs.append((twin, item))
        return pairs
    return pair


def build(root, props, record):
    """Write every declared value of ``record`` into ``root``, in declaration order (the order of the output)."""
    for prop in props:
        prop.build(root, record)
    return root


def lay(target, source, props):
    """Lay ``source``'s declared values onto ``target`` in place; everything else of ``target`` stays."""
    for prop in props:
        prop.lay(target, source)
    return target
