"""The workloads of _workload.py: timing (calibration, samples, figures) with a fake clock, and every workload run
for real on this machine with tiny amounts, including what it leaves behind (nothing) and how it fails safe."""

import hashlib
import os
import signal

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _workload
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Steady(object):
    """A workload whose every operation takes ``seconds`` on the fake clock; remembers the counts it ran."""

    ops_per_count = 4

    def __init__(self, clock, seconds):
        self.clock, self.seconds = clock, seconds
        self.counts = []
        self.entered = self.exited = False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.exited = True
        return False

    def run(self, count):
        self.counts.append(count)
        self.clock.now += count * self.seconds


# ---------------------------------------------------------------------------------------------------------------
# Timing

def test_summarize():
    figures = _workload.summarize([2.0, 1.0, 4.0], 1000)
    assert figures == dict(samples=[2.0, 1.0, 4.0], ops_per_sample=1000, median=2.0, min=1.0, max=4.0, spread=1.5,
                           seconds_per_op=0.002)


def test_calibration_grows_tenfold_then_scales_to_the_sample_time():
    clock = FakeClock()
    workload = Steady(clock, 0.001)
    assert _workload.calibrate(workload, 0.5, clock) == 500
    assert workload.counts == [1, 10, 100]  # 100 ops take 0.1 s, a fifth of the sample time


def test_calibration_of_a_slow_workload_keeps_one_operation():
    clock = FakeClock()
    workload = Steady(clock, 3.0)  # an L2 under emulation: one operation is longer than a sample
    assert _workload.calibrate(workload, 0.5, clock) == 1
    assert workload.counts == [1]


def test_calibration_stops_on_a_clock_that_does_not_move():
    clock = FakeClock()
    workload = Steady(clock, 0.0)
    assert _workload.calibrate(workload, 0.5, clock) >= _workload.MAX_CALIBRATION_COUNT
    assert len(workload.counts) == 10


def test_measure_repeats_the_calibrated_count():
    clock = FakeClock()
    workload = Steady(clock, 0.001)
    figures = _workload.measure(workload, 3, 0.5, clock)
    assert workload.counts == [1, 10, 100, 500, 500, 500]
    assert workload.entered and workload.exited
    assert figures['ops_per_sample'] == 2000 and figures['samples'] == pytest.approx([0.5] * 3)
    assert figures['seconds_per_op'] == pytest.approx(0.00025) and figures['spread'] == pytest.approx(0)


# ---------------------------------------------------------------------------------------------------------------
# The workloads, for real and small

@pytest.mark.parametrize('workload', [
    _workload.CpuWorkload(),
    _workload.MemoryWorkload(1024 * 1024),
    _workload.SyscallWorkload(),
    _workload.PipeWorkload(),
], ids=['cpu', 'memory', 'syscall', 'pipe'])
def test_workloads_run_and_give_a_time_per_operation(workload):
    figures = _workload.measure(workload, 2, 0.002)
    assert len(figures['samples']) == 2 and figures['seconds_per_op'] > 0


def test_memory_touches_a_page_per_operation():
    workload = _workload.MemoryWorkload(1024 * 1024 + 5)  # rounded down to whole pages
    assert workload.ops_per_count == 1024 * 1024 // _workload.mmap.PAGESIZE
    workload.run(2)


def test_cpu_hashes_whole_mebibytes():
    workload = _workload.CpuWorkload()
    workload.run(1)
    assert len(workload.block) == 1024 * 1024
    assert workload.digest == hashlib.sha256(workload.block).hexdigest()


def test_pipe_child_is_reaped():
    with _workload.PipeWorkload() as workload:
        workload.run(10)
        child = workload.child
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


def test_disk_leaves_no_file_behind(tmp_path):
    with _workload.DiskWorkload(str(tmp_path)) as workload:
        assert os.listdir(str(tmp_path)) == []  # unlinked as soon as it was open
        workload.run(300)
        assert workload.position == 300 % workload.blocks
    assert os.listdir(str(tmp_path)) == []


def test_cpuid_in_a_child_process():
    figures = _workload.in_child_process(lambda: _workload.measure(_workload.CpuidWorkload(), 2, 0.002))
    assert figures['seconds_per_op'] > 0


def test_cpuid_elsewhere_than_x86_64(monkeypatch):
    monkeypatch.setattr(_workload.platform, 'machine', lambda: 'aarch64')
    with pytest.raises(_workload.WorkloadUnavailableError, match='x86-64 instruction; this is aarch64'):
        _workload.CpuidWorkload().__enter__()


def test_a_child_that_raises_is_reported():
    def refused():
        raise _workload.WorkloadUnavailableError('executable memory refused: Permission denied')
    with pytest.raises(_workload.WorkloadUnavailableError, match='executable memory refused'):
        _workload.in_child_process(refused)

    def broken():
        raise KeyError('x')
    with pytest.raises(_workload.WorkloadUnavailableError, match="KeyError: 'x'"):
        _workload.in_child_process(broken)


def test_a_child_that_crashes_is_reported():
    def crash():
        os.kill(os.getpid(), signal.SIGKILL)  # not SIGSEGV: pytest's faulthandler would print a traceback
    with pytest.raises(_workload.WorkloadUnavailableError, match="killed by SIGKILL"):
        _workload.in_child_process(crash)


# ---------------------------------------------------------------------------------------------------------------
# What the module runs

MOUNTS = """/dev/vda1 / ext4 rw 0 0
tmpfs /tmp tmpfs rw 0 0
/dev/vdb1 /var/lib/nested\\040images xfs rw 0 0
"""


@pytest.mark.parametrize('path, expected', [
    ('/var/tmp', ('/', 'ext4')),
    ('/tmp', ('/tmp', 'tmpfs')),
    ('/tmp/x', ('/tmp', 'tmpfs')),
    ('/tmpfoo', ('/', 'ext4')),
    ('/var/lib/nested images/a', ('/var/lib/nested images', 'xfs')),
])
def test_mount_of(path, expected):
    assert _workload.mount_of(path, MOUNTS) == expected


def test_host_facts_on_a_fake_host(fake_host):
    fake_host.cpu('amd', hypervisor=True)
    fake_host.write('/proc/mounts', MOUNTS)
    fake_host.write('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'kvm-clock\n')
    facts = _workload.host_facts('/tmp')
    assert facts['cpu_model'] == 'AMD EPYC 7763 64-Core Processor' and facts['hypervisor_flag'] is True
    assert facts['clocksource'] == 'kvm-clock'
    assert (facts['disk_mount'], facts['disk_fstype']) == ('/tmp', 'tmpfs')
    assert facts['python'] and facts['kernel'] and facts['cpus'] >= 1


def test_run_workloads_in_their_order_and_an_unavailable_one_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(_workload.platform, 'machine', lambda: 'riscv64')
    measured = _workload.run_workloads(['disk', 'cpuid', 'cpu'], 2, 0.002, 1024 * 1024, str(tmp_path))
    assert list(measured['workloads']) == ['cpu', 'cpuid', 'disk']
    cpuid = measured['workloads']['cpuid']
    assert cpuid['available'] is False and 'riscv64' in cpuid['reason'] and cpuid['unit'] == 'CPUID'
    disk = measured['workloads']['disk']
    assert disk['available'] is True and disk['unit'] == 'synchronous write' and disk['ops_per_sample'] >= 1
    assert measured['settings'] == dict(repeats=2, sample_seconds=0.002, memory_region_bytes=1024 * 1024)
    assert measured['started_at'].endswith('Z') and measured['elapsed_seconds'] > 0
    assert measured['host']['disk_dir'] == str(tmp_path)


def settings(**overrides):
    params = dict(workloads=list(_workload.WORKLOADS), repeats=5, sample_seconds=0.5, memory_region_size='32MiB',
                  disk_dir='/var/tmp')
    params.update(overrides)
    return params


def test_settings_from():
    assert _workload.settings_from(settings(memory_region_size='8')) == (
        list(_workload.WORKLOADS), 5, 0.5, 8 * 1024 * 1024, '/var/tmp')


@pytest.mark.parametrize('overrides, option, fragment', [
    (dict(repeats=0), 'repeats', 'at least 1'),
    (dict(sample_seconds=0.0), 'sample_seconds', 'more than 0'),
    (dict(memory_region_size='lots'), 'memory_region_size', 'is not a size'),
    (dict(memory_region_size='1B'), 'memory_region_size', 'too small'),
    (dict(disk_dir='/nonexistent/dir'), 'disk_dir', 'is not a directory'),
])
def test_bad_settings_name_the_option(overrides, option, fragment):
    with pytest.raises(OptionError) as err:
        _workload.settings_from(settings(**overrides))
    assert err.value.details == {'option': option} and fragment in err.value.msg


def test_disk_dir_is_not_checked_without_the_disk_workload():
    assert _workload.settings_from(settings(workloads=['cpu'], disk_dir='/nonexistent'))[4] == '/nonexistent'
