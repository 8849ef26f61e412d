"""Writes docs/topology.svg: who runs which QEMU, and how Ansible reaches each level, for the two inventories
this collection ships (inventories/local, the lab; inventories/example, a real site).

Standard library only. Run it from anywhere after changing an inventory's shape: python3 docs/topology.py
tests/unit/test_docs.py checks that the committed SVG is what this script writes, and names every host of
both inventories.
"""

from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 1000, 740
RUNS = '#6b6b6b'  # a VM's QEMU process on its host
SSH = '#1f5fbf'  # how Ansible's SSH reaches a host
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'

# Each host: (x, y, w, h, fill, title, lines). Coordinates are the picture's own (pixels).
LAB_TITLE = 'The local lab: inventories/local (make lab)'
LAB_HOSTS = {
    'localhost': (20, 60, 270, 170, '#f3efe2', 'L0  localhost', [
        'this machine, also the Ansible controller',
        '(ansible_connection: local)',
        'libvirtd at qemu:///system',
        'no VT-x/AMD-V here: an emulated L0',
    ]),
    'lab-l1': (400, 60, 270, 170, '#e4eef8', 'L1  lab-l1', [
        'a QEMU TCG process on localhost',
        '(libvirt type qemu, CPU maximum + svm)',
        'Debian 12, 2 vCPU, 3 GiB',
        'kvm_amd nested=1, its own libvirtd',
    ]),
    'lab-l2': (780, 60, 200, 170, '#e6f3e4', 'L2  lab-l2', [
        'a QEMU/KVM process in lab-l1',
        '(libvirt type kvm)',
        'Debian 12, 1 vCPU, 512 MiB',
        'its kernel says "Hypervisor',
        'detected: KVM"',
    ]),
}

SITE_TITLE = 'The example site: inventories/example'
SITE_HOSTS = {
    'controller': (20, 330, 170, 340, '#f4f4f4', 'controller', [
        'ansible-playbook',
        'the SSH keys, and',
        'known_hosts with each',
        "VM's host key (made",
        'here by the roles)',
    ]),
    'metal-1': (250, 330, 220, 120, '#f3efe2', 'L0  metal-1', [
        'metal-1.example.com',
        'ssh as admin, become: true',
        'KVM (l0_host_emulation: never)',
    ]),
    'l1-a': (530, 330, 220, 120, '#e4eef8', 'L1  l1-a', [
        'a QEMU/KVM process on metal-1',
        'bridge br0: 198.51.100.11',
        'Ubuntu 22.04, 8 vCPU, 32 GiB',
    ]),
    'ubuntu-a': (800, 330, 180, 120, '#e6f3e4', 'L2  ubuntu-a', [
        'QEMU/KVM in l1-a',
        'profile ubuntu22.04',
        "user net: l1-a's",
        '127.0.0.1:2201 to :22',
    ]),
    'metal-2': (250, 520, 220, 120, '#f3efe2', 'L0  metal-2', [
        'metal-2.example.com',
        'ssh as admin, become: true',
        'KVM (l0_host_emulation: never)',
    ]),
    'l1-b': (530, 520, 220, 120, '#e4eef8', 'L1  l1-b', [
        'a QEMU/KVM process on metal-2',
        'bridge br0: 198.51.100.12',
        'Ubuntu 22.04, 8 vCPU, 32 GiB',
    ]),
    'win11-b': (800, 520, 180, 120, '#e6f3e4', 'L2  win11-b', [
        'QEMU/KVM in l1-b',
        'profile windows11: Secure',
        'Boot, TPM 2.0, Hyper-V',
        'user net, outgoing only:',
        'no SSH (installer console)',
    ]),
}


def _text(x, y, text, size=12, weight='normal', anchor='start', color='#222'):
    return '<text x="%d" y="%d" font-size="%d" font-weight="%s" text-anchor="%s" fill="%s" %s>%s</text>' % (
        x, y, size, weight, anchor, color, FONT, escape(text))


def _host(x, y, w, h, fill, title, lines):
    out = ['<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="#555"/>' % (x, y, w, h, fill),
           _text(x + 10, y + 20, title, 13, 'bold')]
    out += [_text(x + 10, y + 42 + 17 * i, line, 11) for i, line in enumerate(lines)]
    return out


def _path(points, color, dashed=False, label=None, label_at=None, width=2):
    d = 'M ' + ' L '.join('%d %d' % p for p in points)
    marker = 'runs' if color == RUNS else 'ssh'
    out = ['<path d="%s" fill="none" stroke="%s" stroke-width="%d"%s marker-end="url(#%s)"/>' % (
        d, color, width, ' stroke-dasharray="6 4"' if dashed else '', marker)]
    if label:
        (lx, ly), lines = label_at, label if isinstance(label, list) else [label]
        out += [_text(lx, ly + 13 * i, line, 10, anchor='middle', color=color) for i, line in enumerate(lines)]
    return out


def _between(hosts, left, right, y, color, label):
    lx, lw = hosts[left][0], hosts[left][2]
    rx = hosts[right][0]
    return _path([(lx + lw, y), (rx, y)], color, label=label, label_at=((lx + lw + rx) // 2, y - 9 - 13 * (len(label) - 1)),
                 width=4 if color == RUNS else 2)


def svg():
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">' % (WIDTH, HEIGHT, WIDTH, HEIGHT),
           '<title>nestedkvm.stack: who runs which QEMU, and how Ansible reaches each level</title>',
           '<defs>']
    for name, color in (('runs', RUNS), ('ssh', SSH)):
        out.append('<marker id="%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12" markerHeight="12" '
                   'markerUnits="userSpaceOnUse" '
                   'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker>' % (name, color))
    out += ['</defs>', '<rect width="100%" height="100%" fill="white"/>']

    # The lab: one chain on one machine, everything on loopback.
    out.append(_text(20, 35, LAB_TITLE, 15, 'bold'))
    for host in LAB_HOSTS.values():
        out += _host(*host)
    out += _between(LAB_HOSTS, 'localhost', 'lab-l1', 150, RUNS, ['runs'])
    out += _between(LAB_HOSTS, 'lab-l1', 'lab-l2', 150, RUNS, ['runs'])
    out += _between(LAB_HOSTS, 'localhost', 'lab-l1', 205, SSH, ['ssh 127.0.0.1:2222', 'forwarded to :22'])
    out += _between(LAB_HOSTS, 'lab-l1', 'lab-l2', 205, SSH, ["its 127.0.0.1:2223", 'forwarded to :22'])
    out += _path([(155, 230), (155, 262), (880, 262), (880, 230)], SSH, dashed=True,
                 label='to lab-l2: ProxyCommand ssh -W through lab-l1 (127.0.0.1:2222), then to its 127.0.0.1:2223',
                 label_at=(512, 278))

    # The example site: a controller elsewhere, two L0s, bridged L1s, L2s behind their L1.
    out.append(_text(20, 310, SITE_TITLE, 15, 'bold'))
    for host in SITE_HOSTS.values():
        out += _host(*host)
    for l0, l1, l2 in (('metal-1', 'l1-a', 'ubuntu-a'), ('metal-2', 'l1-b', 'win11-b')):
        top = SITE_HOSTS[l0][1]
        out += _between(SITE_HOSTS, l0, l1, top + 100, RUNS, ['runs'])
        out += _between(SITE_HOSTS, l1, l2, top + 100, RUNS, ['runs'])
        out += _path([(190, top + 40), (250, top + 40)], SSH)
        l1_mid = SITE_HOSTS[l1][0] + 110
        out += _path([(190, top + 137), (l1_mid, top + 137), (l1_mid, top + 120)], SSH,
                     label='ssh nestedkvm@%s (bridged)' % SITE_HOSTS[l1][6][1].split(': ')[1],
                     label_at=(360, top + 133))
    out += _path([(190, 495), (890, 495), (890, 450)], SSH, dashed=True,
                 label='to ubuntu-a: ProxyCommand ssh -W through l1-a, then to its 127.0.0.1:2201',
                 label_at=(540, 491))

    # Legend.
    y = HEIGHT - 35
    out += [*_path([(20, y), (70, y)], RUNS, width=4), _text(80, y + 4, 'runs: the VM is a QEMU process on that host', 11)]
    out += [*_path([(370, y), (420, y)], SSH), _text(430, y + 4, 'SSH as Ansible connects', 11)]
    out += [*_path([(600, y), (650, y)], SSH, dashed=True), _text(660, y + 4, 'SSH through the L1 (ProxyCommand)', 11)]
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main():
    (Path(__file__).resolve().parent / 'topology.svg').write_text(svg())


if __name__ == '__main__':
    main()
