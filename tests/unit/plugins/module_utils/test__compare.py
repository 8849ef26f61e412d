"""_compare.py: what changed between two descriptions, and how they are shown: a Secret compares like any value but
never shows, in the diff or in returned data."""

from ansible_collections.nestedkvm.stack.plugins.module_utils._compare import (
    HIDDEN, Secret, changed_keys, plain, render)


def test_secrets_compare_by_value_and_show_as_stars():
    assert Secret('pw-1') == Secret('pw-1') and Secret('pw-1') != Secret('pw-2') and Secret('pw-1') != 'pw-1'
    assert len({Secret('pw-1'), Secret('pw-1')}) == 1
    assert repr(Secret('pw-1')) == repr(HIDDEN) and 'pw-1' not in '%r %s' % ([Secret('pw-1')], [Secret('pw-1')])


def test_changed_keys_are_the_top_level_facts_that_differ():
    before = dict(vcpus=2, memory_kib=1024, graphics=dict(password=Secret('a')))
    after = dict(vcpus=4, memory_kib=1024, graphics=dict(password=Secret('b')), autostart=True)
    assert changed_keys(before, after) == ['autostart', 'graphics', 'vcpus']
    assert changed_keys(None, dict(vcpus=2)) == ['vcpus']
    assert changed_keys(before, before) == []


def test_render_hides_secrets_and_marks_a_changed_one():
    before = dict(vcpus=2, graphics=[dict(type='vnc', password=Secret('old-pw'))])
    after = dict(vcpus=2, graphics=[dict(type='vnc', password=Secret('new-pw'))])
    text = render(after, before)
    assert 'old-pw' not in text and 'new-pw' not in text
    assert '"password": "%s (changed)"' % HIDDEN in text
    assert '"password": "%s"' % HIDDEN in render(after, after) and render(after, after).endswith('}\n')
    assert render(None) == ''


def test_plain_is_returnable_data_without_secrets():
    assert plain(dict(name='l2', console=dict(password=Secret('pw')), disks=[dict(name='root')])) == dict(
        name='l2', console=dict(password=HIDDEN), disks=[dict(name='root')])
