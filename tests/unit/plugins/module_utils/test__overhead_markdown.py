"""The overhead report as Markdown (_overhead_markdown): its tables, one notation each, the exits and the notes."""

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_markdown, _overhead_model
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import WORKLOADS
from ansible_collections.nestedkvm.stack.tests.unit.plugins.module_utils.overhead_hosts import NO_VT, chain, measurement


# ---------------------------------------------------------------------------------------------------------------
# Rendering

def test_markdown():
    hosts = chain()
    hosts[0]['measurement'] = measurement(dict((n, 1.5) for n in WORKLOADS), unavailable=('cpuid',))
    text = _overhead_markdown.render_markdown(_overhead_model.build_report(hosts))
    assert text.startswith('# Nested KVM overhead report\n')
    assert ('| metal-1 | L0 | bare metal | baseline | baseline | baseline | baseline | baseline | baseline | baseline '
            '| 2-5 % vs native: not measured |') in text
    assert ('| l1-a | L1 | metal-1 (kvm) | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % '
            '| 10-15 % vs L0 (within) |') in text
    assert ('| ubuntu-a | L2 | l1-a (KVM) | +50.0 % | +50.0 % | +50.0 % | +50.0 % | n/a | +50.0 % | +50.0 % '
            '| 40-70 % vs L0 (within) |') in text
    assert '## L2 against its L1' in text
    assert ('| metal-1 | L0 | 500 \u00b5s (2.0 %) | 1000 ns (2.0 %) | 120 ns (2.0 %) | 2.50 \u00b5s (2.0 %) '
            '| 60.0 ns (2.0 %)') in text
    assert ('| ubuntu-a | l1-a | this guest (/sys/kernel/debug/kvm/4242-17) | 900000 | 45000 | halt_exits 500 | - |'
            in text)
    assert '- metal-1 (L0) is the baseline.' in text
    assert 'emulated' not in text


def test_markdown_of_an_emulated_chain_marks_noise_and_factors():
    hosts = chain(1.01, 40.0, l1_virt='qemu', l0_facts=NO_VT)
    text = _overhead_markdown.render_markdown(_overhead_model.build_report(hosts))
    assert '**metal-1: emulated L0 (no VT-x/AMD-V).** Its L1 figures are the cost of emulation, not of nesting.' in text
    # One notation per table: a factor of 40 makes every figure of the table a factor.
    assert '| l1-a | L1 | metal-1 (qemu) | \u00d71.01 ~ |' in text
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d740 |' in text
    assert '\u00d71.10-\u00d71.15 vs L0 (not comparable: emulation cost)' in text
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 |' in text


def test_markdown_tables_each_keep_one_notation():
    """Each table gives all its figures in percent, or all as factors: the L0 table of a hardware chain in percent,
    and the L2-against-L1 table, where CPUID is 50 times dearer, as factors."""
    hosts = chain()
    hosts[0]['measurement'] = measurement(dict(cpu=1.6, memory=1.6, syscall=1.6, pipe=1.6, cpuid=80.0, disk=1.6))
    text = _overhead_markdown.render_markdown(_overhead_model.build_report(hosts))
    against_l0 = text.split('## Overhead against L0')[1].split('## L2 against its L1')[0]
    against_l1 = text.split('## L2 against its L1')[1].split('## Time per operation')[0]
    assert '\u00d7' in against_l0 and '%' not in against_l0.replace('vs native', '')
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d71.43 | \u00d71.43 | \u00d71.43 | \u00d71.43 | \u00d771 |' in against_l1
    assert '%' not in against_l1
