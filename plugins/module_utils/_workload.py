# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small workloads that show what each nesting level costs, timed the same way at L0, L1 and L2.

Runs on the managed host (overhead_workload): standard library only, Python 3.9.

Each workload does one kind of operation (a MiB hashed, a fresh page touched, a system call, a pipe round trip,
a CPUID instruction, a synchronous disk write). How many operations a sample holds is not fixed: a calibration
run finds the count that takes about ``sample_seconds`` on this host, and every sample then repeats that count.
So an L2 under an emulated L0, 10-100 times slower, takes no longer to measure than the L0; the figure compared
across levels is the time per operation, which does not depend on the count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import hashlib
import json
import mmap
import os
import platform
import signal
import statistics
import tempfile
import time

from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import read_text
from ansible_collections.nestedkvm.stack.plugins.module_utils._procfs import parse_mounts
from ansible_collections.nestedkvm.stack.plugins.module_utils._units import parse_size
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import UNITS, WORKLOADS

# A calibration run grows tenfold until it takes a tenth of the sample time; past this count the workload is
# too fast to time (a broken clock, or an operation optimised away) and the count found so far is used.
MAX_CALIBRATION_COUNT = 10 ** 9

# x86-64 machine code of `void f(uint64_t n)`: n times CPUID leaf 0, an instruction that always leaves a guest
# (a VM exit to its hypervisor). rbx, which CPUID overwrites, is callee-saved and restored.
#   push rbx; mov r8, rdi; loop: test r8, r8; jz done; xor eax, eax; xor ecx, ecx; cpuid; dec r8; jmp loop;
#   done: pop rbx; ret
CPUID_LOOP_X86_64 = bytes(bytearray([
    0x53, 0x49, 0x89, 0xF8, 0x4D, 0x85, 0xC0, 0x74, 0x0B, 0x31, 0xC0, 0x31, 0xC9, 0x0F, 0xA2,
    0x49, 0xFF, 0xC8, 0xEB, 0xF0, 0x5B, 0xC3,
]))


class WorkloadUnavailableError(Exception):
    """This host cannot run a workload; the message says why (it is reported, not a failure)."""


# ---------------------------------------------------------------------------------------------------------------
# The workloads: each is a context manager (set-up and clean-up) with run(count) and ops_per_count.

class CpuWorkload(object):
    """SHA-256 of 1 MiB blocks: CPU-bound, no system calls, no VM exits."""

    ops_per_count = 1

    def __init__(self):
        self.block = bytes(bytearray(range(256))) * 4096
        self.digest = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, count):
        hasher = hashlib.sha256()
        for _operation in range(count):
            hasher.update(self.block)
        self.digest = hasher.hexdigest()  # kept, so the work is observable


class MemoryWorkload(object):
    """Map fresh anonymous memory, write one byte per page, unmap: a page fault per page.

    Each fault gives a guest page a new guest-physical backing; in a nested guest that walks and fills the
    hypervisors' second-level page tables too (EPT/NPT, shadowed by L0 for an L2). Huge pages are refused
    for the region, or one fault would back 512 pages.
    """

    def __init__(self, region_bytes):
        self.page = mmap.PAGESIZE
        self.region_bytes = max(self.page, region_bytes - region_bytes % self.page)
        self.ops_per_count = self.region_bytes // self.page
        self.ones = b'\x01' * self.ops_per_count

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, count):
        for _operation in range(count):
            region = mmap.mmap(-1, self.region_bytes, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            try:
                if hasattr(mmap, 'MADV_NOHUGEPAGE'):
                    region.madvise(mmap.MADV_NOHUGEPAGE)
                # An extended slice: one byte per page, written by mmap's C code, not a Python loop.
                region[::self.page] = self.ones
            finally:
                region.close()


class SyscallWorkload(object):
    """getppid() in a tight loop: the cheapest system call, which KVM lets a guest make without an exit."""

    ops_per_count = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, count):
        getppid = os.getppid
        for _operation in range(count):
            getppid()


class PipeWorkload(object):
    """One byte back and forth between two processes: each round trip wakes a sleeping process twice.

    On a guest with more than one vCPU a wake-up on another vCPU is an IPI and an idle vCPU halts (both VM
    exits); on one vCPU it is a context switch.
    """

    ops_per_count = 1

    def __init__(self):
        self.child = None
        self.to_child = None
        self.from_child = None

    def __enter__(self):
        down_read, down_write = os.pipe()
        up_read, up_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            try:
                os.close(down_write)
                os.close(up_read)
                while True:
                    byte = os.read(down_read, 1)
                    if not byte:
                        break
                    os.write(up_write, byte)
            finally:
                # Never return into the module: its clean-up belongs to the parent.
                os._exit(0)
        os.close(down_read)
        os.close(up_write)
        self.child, self.to_child, self.from_child = pid, down_write, up_read
        return self

    def __exit__(self, *exc):
        os.close(self.to_child)  # the child reads end-of-file and exits
        os.close(self.from_child)
        os.waitpid(self.child, 0)
        return False

    def run(self, count):
        write, read, to_child, from_child = os.write, os.read, self.to_child, self.from_child
        for _operation in range(count):
            write(to_child, b'x')
            read(from_child, 1)


class CpuidWorkload(object):
    """CPUID in a loop of machine code: one VM exit per instruction in any guest.

    Run it through ``in_child_process``: executable memory may be refused (SELinux execmem, a hardened
    kernel), and a fault in generated code kills only the child.
    """

    ops_per_count = 1

    def __init__(self):
        self.code = None
        self.function = None

    def __enter__(self):
        if platform.machine().lower() not in ('x86_64', 'amd64'):
            raise WorkloadUnavailableError('CPUID is an x86-64 instruction; this is %s' % platform.machine())
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        size = mmap.PAGESIZE
        self.code = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.code.write(CPUID_LOOP_X86_64)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self.code))
        # Written while writable, then made executable and read-only: never writable and executable at once.
        if libc.mprotect(address, size, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise WorkloadUnavailableError('executable memory refused: %s' % os.strerror(ctypes.get_errno()))
        self.function = ctypes.CFUNCTYPE(None, ctypes.c_uint64)(address)
        return self

    def __exit__(self, *exc):
        return False  # the mapping goes with the child process

    def run(self, count):
        self.function(count)


class DiskWorkload(object):
    """4 KiB writes with O_DSYNC to a file in ``directory``: each one waits until the disk has it.

    The file is unlinked as soon as it is open, so nothing is left behind even when the run is killed. Its
    blocks are written once first, so the timed writes overwrite allocated blocks and measure the path to the
    disk (virtio, QEMU, the host's disk at every level), not the file system's allocation.
    """

    ops_per_count = 1
    blocks = 256

    def __init__(self, directory, block_bytes=4096):
        self.directory = directory
        self.block = b'\xa5' * block_bytes  # not zeros: QEMU may turn zero writes into holes
        self.fd = None
        self.position = 0

    def __enter__(self):
        handle, path = tempfile.mkstemp(prefix='nestedkvm-overhead-', dir=self.directory)
        try:
            os.close(handle)
            self.fd = os.open(path, os.O_WRONLY | os.O_DSYNC)
        finally:
            os.unlink(path)
        for index in range(self.blocks):
            os.pwrite(self.fd, self.block, index * len(self.block))
        os.fsync(self.fd)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        return False

    def run(self, count):
        pwrite, fd, block, blocks = os.pwrite, self.fd, self.block, self.blocks
        position = self.position
        for _operation in range(count):
            pwrite(fd, block, position * len(block))
            position = (position + 1) % blocks
        self.position = position


# ---------------------------------------------------------------------------------------------------------------
# Timing

def summarize(samples, ops_per_sample):
    """Median, min, max and relative spread ((max - min) / median) of sample times, and the median time per op."""
    median = statistics.median(samples)
    low, high = min(samples), max(samples)
    return dict(
        samples=list(samples),
        ops_per_sample=ops_per_sample,
        median=median,
        min=low,
        max=high,
        spread=(high - low) / median if median > 0 else None,
        seconds_per_op=median / ops_per_sample if ops_per_sample else None,
    )


def timed(workload, count, clock):
    started = clock()
    workload.run(count)
    return clock() - started


def calibrate(workload, sample_seconds, clock):
    """The count whose run takes about ``sample_seconds`` here; the runs it takes warm the workload up."""
    count = 1
    while True:
        elapsed = timed(workload, count, clock)
        if elapsed >= sample_seconds / 10 or count >= MAX_CALIBRATION_COUNT:
            break
        count *= 10
    return max(1, round(count * sample_seconds / max(elapsed, 1e-9)))


def measure(workload, repeats, sample_seconds, clock=time.perf_counter):
    """Calibrate, then ``repeats`` timed samples of the same count: summarize()'s figures."""
    with workload:
        count = calibrate(workload, sample_seconds, clock)
        samples = [timed(workload, count, clock) for _sample in range(repeats)]
    return summarize(samples, count * workload.ops_per_count)


def in_child_process(function):
    """Run ``function()`` (which returns something JSON can carry) in a forked child and return its result.

    A crash of the child (a signal) or an exception in it raises WorkloadUnavailableError in the parent, with why.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        try:
            os.close(read_end)
            try:
                answer = dict(result=function())
            except WorkloadUnavailableError as exc:
                answer = dict(error=str(exc))
            except Exception as exc:
                answer = dict(error='%s: %s' % (type(exc).__name__, exc))
            data = json.dumps(answer).encode('utf-8')
            while data:
                data = data[os.write(write_end, data):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, 'rb') as reader:
        chunks.append(reader.read())
    status = os.waitpid(pid, 0)[1]
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        raise WorkloadUnavailableError('the measuring process was killed by %s' % name)
    answer = json.loads(b''.join(chunks).decode('utf-8') or '{}')
    if 'result' not in answer:
        raise WorkloadUnavailableError(answer.get('error') or 'the measuring process gave no answer')
    return answer['result']


# ---------------------------------------------------------------------------------------------------------------
# What the module runs

def mount_of(path, mounts_text):
    """(mount point, file system type) of the mount that holds ``path``, from /proc/mounts."""
    best = ('/', None)
    path = os.path.realpath(path)
    for point, fstype in parse_mounts(mounts_text):
        inside = path == point or path.startswith(point.rstrip('/') + '/')
        if inside and len(point) >= len(best[0]):
            best = (point, fstype)
    return best


def host_facts(disk_dir):
    """What about this host can change the figures: CPU, kernel, Python, clock source, the disk's file system."""
    cpu = read_cpuinfo()
    clocksource = read_text('/sys/devices/system/clocksource/clocksource0/current_clocksource')
    mount_point, fstype = mount_of(disk_dir, read_text('/proc/mounts', ''))
    return dict(
        kernel=platform.release(),
        python=platform.python_version(),
        machine=platform.machine(),
        cpu_model=cpu.model_name,
        cpus=os.cpu_count(),
        hypervisor_flag=cpu.hypervisor,
        clocksource=clocksource.strip() if clocksource else None,
        disk_dir=disk_dir,
        disk_mount=mount_point,
        disk_fstype=fstype,
    )


def make_workload(name, memory_region_bytes, disk_dir):
    if name == 'cpu':
        return CpuWorkload()
    if name == 'memory':
        return MemoryWorkload(memory_region_bytes)
    if name == 'syscall':
        return SyscallWorkload()
    if name == 'pipe':
        return PipeWorkload()
    if name == 'cpuid':
        return CpuidWorkload()
    return DiskWorkload(disk_dir)


def run_workloads(names, repeats, sample_seconds, memory_region_bytes, disk_dir, clock=time.perf_counter):
    """Each workload named, in the order of WORKLOADS: {'host': host_facts(), 'workloads': {...}, ...}.

    A workload this host cannot run is reported with ``available: false`` and the reason; the others still run.
    """
    started_at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    started = clock()
    results = {}
    for name in [n for n in WORKLOADS if n in names]:
        workload = make_workload(name, memory_region_bytes, disk_dir)
        result = dict(name=name, unit=UNITS[name], available=True, reason=None)
        try:
            if name == 'cpuid':
                result.update(in_child_process(lambda w=workload: measure(w, repeats, sample_seconds, clock)))
            else:
                result.update(measure(workload, repeats, sample_seconds, clock))
        except (WorkloadUnavailableError, OSError, ValueError) as exc:
            result.update(available=False, reason=str(exc))
        results[name] = result
    return dict(
        host=host_facts(disk_dir),
        workloads=results,
        settings=dict(repeats=repeats, sample_seconds=sample_seconds, memory_region_bytes=memory_region_bytes),
        started_at=started_at,
        elapsed_seconds=clock() - started,
    )


def settings_from(params):
    """The module's options, checked: (workloads, repeats, sample_seconds, memory_region_bytes, disk_dir)."""
    if params['repeats'] < 1:
        raise OptionError('repeats', 'must be at least 1, got %d' % params['repeats'])
    if not params['sample_seconds'] > 0:
        raise OptionError('sample_seconds', 'must be more than 0, got %s' % params['sample_seconds'])
    region = parse_size(params['memory_region_size'], 'memory_region_size', minimum=mmap.PAGESIZE)
    if 'disk' in params['workloads'] and not os.path.isdir(params['disk_dir']):
        raise OptionError('disk_dir', '%s is not a directory' % params['disk_dir'])
    return params['workloads'], params['repeats'], params['sample_seconds'], region, params['disk_dir']
