"""Declared XML properties: read, built, and laid onto another element in place."""

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils._xml_props import Each, Path, Prop, Whole, build, lay

NS = {'x': 'urn:example:x'}


def xml(text):
    return etree.fromstring(text, etree.XMLParser(remove_blank_text=True))


def text(element):
    return etree.tostring(element).decode()


def test_a_prop_reads_an_attribute_a_text_or_a_presence():
    root = xml("<d><driver type='qcow2'/><memory unit='KiB'>1024</memory><readonly/></d>")
    assert Prop('driver/@type').get(root) == 'qcow2'
    assert Prop('memory', text=True).get(root) == '1024'
    assert Prop('readonly', presence=True).get(root) is True
    assert Prop('shareable', presence=True).get(root) is None
    assert Prop('source/@file').get(root) is None


def test_writing_makes_the_missing_elements_with_their_conditions():
    root = xml('<d/>')
    Prop("clock/timer[@name='hpet']/@present").set(root, 'no')
    Prop('x:meta/@level', namespaces=NS).set(root, 1)
    assert text(root) == '<d><clock><timer name="hpet" present="no"/></clock><x:meta xmlns:x="urn:example:x" level="1"/></d>'


def test_removing_a_value_removes_the_elements_it_leaves_empty_and_no_others():
    root = xml("<d><cpu mode='custom'><model fallback='forbid'>EPYC</model></cpu><kvm><hidden state='on'/></kvm></d>")
    Prop('cpu/model', text=True).set(root, None)
    assert text(root.find('cpu')) == '<cpu mode="custom"><model fallback="forbid"/></cpu>'
    Prop('cpu/model/@fallback').set(root, None)
    assert text(root.find('cpu')) == '<cpu mode="custom"/>'
    Prop('kvm/hidden/@state').set(root, None)
    assert root.find('kvm') is None
    Prop('readonly', presence=True).set(root, None)  # nothing to remove


def test_keep_leaves_the_targets_value_when_the_source_has_none():
    mac = Prop('mac/@address', keep=True)
    target = xml("<i><mac address='52:54:00:00:00:01'/></i>")
    lay(target, xml('<i/>'), [mac])
    assert mac.get(target) == '52:54:00:00:00:01'
    lay(target, xml("<i><mac address='52:54:00:00:00:02'/></i>"), [mac])
    assert mac.get(target) == '52:54:00:00:00:02'
    only_with_efi = Prop('loader', presence=True, keep=lambda source: source.get('firmware') == 'efi')
    target = xml('<os><loader>/ovmf.fd</loader></os>')
    lay(target, xml("<os firmware='efi'/>"), [only_with_efi])
    assert target.findtext('loader') == '/ovmf.fd'
    lay(target, xml('<os/>'), [only_with_efi])
    assert target.find('loader') is None


DISK = Each('devices', 'disk', lambda r: r, [Prop('driver/@type', lambda d: d[1]), Prop('target/@dev', lambda d: d[0])],
            key=lambda e: e.xpath('string(target/@dev)'))


def test_each_builds_an_item_per_record_in_order():
    root = build(xml('<d/>'), [DISK], [('vda', 'qcow2'), ('vdb', 'raw')])
    assert text(root) == ('<d><devices><disk><driver type="qcow2"/><target dev="vda"/></disk>'
                          '<disk><driver type="raw"/><target dev="vdb"/></disk></devices></d>')
    assert text(build(xml('<d/>'), [DISK], [])) == '<d/>'


def test_each_edits_twins_in_place_and_keeps_what_it_does_not_declare():
    live = xml("<d><devices><disk><driver type='raw' cache='none'/><target dev='vda'/><iotune/></disk>"
               "<watchdog/><disk><target dev='vdb'/></disk></devices></d>")
    desired = build(xml('<d/>'), [DISK], [('vda', 'qcow2'), ('vdc', 'raw')])
    lay(live, desired, [DISK])
    assert text(live) == ('<d><devices><disk><driver type="qcow2" cache="none"/><target dev="vda"/><iotune/></disk>'
                          '<disk><driver type="raw"/><target dev="vdc"/></disk><watchdog/></devices></d>')


def test_each_leaves_alone_what_it_does_not_own():
    tablet = Each('devices', 'input', lambda r: r, [Prop('@type', 'tablet')], owns=lambda e: e.get('type') == 'tablet',
                  claim_only_built=True)
    live = xml("<d><devices><input type='mouse'/><input type='tablet' bus='usb'/></devices></d>")
    lay(live, build(xml('<d/>'), [tablet], []), [tablet])
    assert [i.get('type') for i in live.iterfind('devices/input')] == ['mouse', 'tablet']
    boot = Each('os', 'boot', lambda r: r, [Prop('@dev', lambda dev: dev)])
    live = xml("<d><os><type>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os></d>")
    lay(live, build(xml('<d/>'), [boot], ['hd']), [boot])
    assert text(live.find('os')) == '<os><type>hvm</type><boot dev="hd"/></os>'
    lay(live, build(xml('<d/>'), [boot], []), [boot])
    assert text(live.find('os')) == '<os><type>hvm</type></os>'


def test_an_each_left_empty_takes_its_emptied_parent_along():
    features = Each('os/firmware', 'feature', lambda r: r, [Prop('@name', lambda name: name)])
    live = xml("<d><os><type>hvm</type><firmware><feature name='secure-boot'/></firmware></os></d>")
    lay(live, xml('<d><os/></d>'), [features])
    assert text(live) == '<d><os><type>hvm</type></os></d>'


def test_a_whole_element_replaces_the_targets_in_place():
    hyperv = Whole('features/hyperv', lambda r: xml("<hyperv mode='custom'><%s state='on'/></hyperv>" % r) if r else None)
    live = xml("<d><features><acpi/><hyperv><vendor_id state='on'/></hyperv><smm/></features></d>")
    lay(live, build(xml('<d/>'), [hyperv], 'relaxed'), [hyperv])
    assert text(live) == '<d><features><acpi/><hyperv mode="custom"><relaxed state="on"/></hyperv><smm/></features></d>'
    lay(live, build(xml('<d/>'), [hyperv], None), [hyperv])
    assert text(live) == '<d><features><acpi/><smm/></features></d>'


def test_namespaced_items_declare_their_prefix_once():
    args = Each('x:line', 'x:arg', lambda r: r, [Prop('@value', lambda v: v)], namespaces=NS)
    root = build(etree.Element('d', nsmap=NS), [args], ['-a', '-b'])
    assert text(root) == '<d xmlns:x="urn:example:x"><x:line><x:arg value="-a"/><x:arg value="-b"/></x:line></d>'


@pytest.mark.parametrize('path', ['a//b', 'a[1]', "a[@b=\"c\"]", 'a/@b/c'])
def test_paths_beyond_the_small_part_of_xpath_are_refused(path):
    with pytest.raises(ValueError):
        Path(path, {})
