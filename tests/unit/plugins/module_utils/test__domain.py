"""_domain, the engine of l1_domain and l2_domain, run directly (a real AnsibleModule with the modules' argument spec)
on libvirt's test driver: its plan is the one source of changed, diff, actions and check mode, so a check-mode run
predicts exactly what the real run then does and reports; options are all checked (against the host's capabilities
only) before any domain, pool or volume is looked up; a failure part-way is undone."""

from functools import partial

import libvirt
import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain import DomainManager, DomainPlan
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import domain_argument_spec, module_profile
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_POOL, domain_args


args = partial(domain_args, name='dom')


def run(values, level=1, check=False, diff=True):
    """The engine's result for module arguments ``values``; a refusal is raised (NestedKvmError)."""
    values = dict(values, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(values):
        module = AnsibleModule(argument_spec=domain_argument_spec(level), supports_check_mode=True)
    return DomainManager(module, level=level, profile=module_profile(module.params)).run()


# What a result says about the run: all of it must be the same in check mode as in the real run that follows.
PREDICTED = ('changed', 'actions', 'changed_facts', 'created_volumes', 'diff', 'reboot_required', 'state',
             'removed_volumes', 'kept_volumes')


def predicted(result):
    return {key: result.get(key) for key in PREDICTED}


def pause(hypervisor):
    hypervisor.domain('dom').suspend()


def edit_by_hand(hypervisor):
    xml = hypervisor.domain('dom').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    hypervisor.conn.defineXML(xml.replace("<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>5</vcpu>"))


# (what was there before, by earlier real runs and hand edits; the run predicted, then made)
CASES = {
    'a new domain, started': ([], args()),
    'a new domain, defined only': ([], args(state='present')),
    'a new domain with autostart': ([], args(autostart=True)),
    'nothing to do': ([args()], args()),
    'a change to a running domain, flagged': ([args()], args(vcpus=3, memory='2GiB')),
    'a change to a running domain, restarted': ([args()], args(vcpus=3, restart_on_change=True)),
    'a change to a stopped domain': ([args(state='present')], args(state='present', vcpus=3)),
    'a record-only change to a running domain': ([args()], args(access=dict(user='u', address='192.0.2.1'))),
    'a new disk': ([args()], args(disks=[dict(name='root', pool=TEST_POOL, size='4GiB'),
                                         dict(name='data', pool=TEST_POOL, size='1GiB')])),
    'a hand edit undone': ([args(state='present'), edit_by_hand], args(state='present')),
    'shut down': ([args()], args(state='shutdown')),
    'powered off': ([args()], args(state='destroyed')),
    'started again': ([args(state='destroyed')], args()),
    'resumed': ([args(), pause], args()),
    'a change to a paused domain left paused': ([args(), pause], args(state='present', vcpus=3)),
    'autostart off': ([args(autostart=True)], args(autostart=False)),
    'removed with its storage': ([args()], args(state='absent', remove_storage=True)),
    'removed, storage kept': ([args()], args(state='absent')),
    'absent already': ([], args(state='absent')),
}


@pytest.mark.parametrize('before, wanted', CASES.values(), ids=list(CASES))
def test_check_mode_predicts_the_real_run_and_changes_nothing(hypervisor, before, wanted):
    for earlier in before:
        earlier(hypervisor) if callable(earlier) else run(earlier)
    untouched = hypervisor.snapshot()
    prediction = run(wanted, check=True)
    assert hypervisor.snapshot() == untouched
    real = run(wanted)
    assert predicted(real) == predicted(prediction)
    assert not run(wanted, check=True)['changed'] and not run(wanted)['changed']


def test_a_plan_is_changed_by_its_steps_alone_and_carries_them_out_in_order():
    done = []
    plan = DomainPlan(None, None)
    assert not plan.changed and plan.actions == []
    plan.add('adopt')
    plan.add('define', lambda plan: done.append(('define', plan)))
    plan.add('start', lambda plan: done.append(('start', plan)))
    assert plan.changed and plan.actions == ['adopt', 'define', 'start']
    plan.carry_out()
    assert done == [('define', plan), ('start', plan)]


def test_the_diff_shows_the_definition_before_and_after(hypervisor):
    new = run(args(), check=True)
    assert new['diff']['before'] == '' and new['diff']['before_header'] == '(absent)'
    assert '"vcpus": 2' in new['diff']['after']
    run(args())
    changed = run(args(vcpus=3))
    assert '"vcpus": 2' in changed['diff']['before'] and '"vcpus": 3' in changed['diff']['after']
    assert 'diff' not in run(args(vcpus=3))  # nothing to show when the definition is up to date
    gone = run(args(state='absent'))
    assert gone['diff']['after'] == '' and gone['diff']['after_header'] == '(absent)'


def test_check_mode_lists_the_seed_volume_it_would_create(hypervisor):
    # A real run creates the seed too (tests/integration/playbooks/l1_lifecycle.yml compares the two on the real
    # libvirtd: the test driver cannot upload a volume's content).
    prediction = run(args(cloud_init=dict(hostname='dom')), check=True)
    assert prediction['created_volumes'] == ['default-pool/dom@root.qcow2', 'default-pool/dom-cidata.iso']
    assert hypervisor.volumes() == []


@pytest.mark.parametrize('cloud_init, option', [
    (dict(hostname='not_a_hostname'), 'cloud_init.hostname'),
    (dict(user_data=dict(password='hunter2')), 'cloud_init.user_data'),
])
def test_cloud_init_is_refused_before_any_domain_pool_or_volume_is_looked_up(hypervisor, monkeypatch, cloud_init, option):
    asked = []
    for name in ('domain', 'pool', 'volume_by_path'):
        real = getattr(Connection, name)
        monkeypatch.setattr(Connection, name, lambda self, *a, _real=real, _name=name: asked.append(_name) or _real(self, *a))
    with pytest.raises(OptionError) as refused:
        run(args(cloud_init=cloud_init))
    assert refused.value.details['option'] == option and asked == []
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


def test_a_failed_define_rolls_back_the_volumes_it_created(hypervisor, monkeypatch):
    def refuse(self, xml, flags=0):
        raise libvirt.libvirtError('refused for the test')
    monkeypatch.setattr(libvirt.virConnect, 'defineXMLFlags', refuse)
    with pytest.raises(NestedKvmError, match='refused'):
        run(args())
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


def test_a_failed_start_keeps_the_definition_and_says_so(hypervisor, monkeypatch):
    # The definition and volumes stay (the next run starts the domain); the steps after the failed one are not taken.
    def refuse(self):
        raise libvirt.libvirtError('no start for the test')
    monkeypatch.setattr(libvirt.virDomain, 'create', refuse)
    with pytest.raises(libvirt.libvirtError):
        run(args(autostart=True))
    assert hypervisor.domains() == ['dom'] and not hypervisor.domain('dom').autostart()
    monkeypatch.undo()
    assert run(args(autostart=True))['actions'] == ['start', 'autostart on']


def test_a_hand_edit_of_a_managed_fact_is_drift_and_is_undone(hypervisor):
    run(args(state='present'))
    edit_by_hand(hypervisor)
    drift = run(args(state='present'), check=True)
    assert drift['changed'] and drift['changed_facts'] == ['vcpus'] and hypervisor.domain('dom').info()[3] == 5
    assert run(args(state='present'))['changed'] and hypervisor.domain('dom').info()[3] == 2
