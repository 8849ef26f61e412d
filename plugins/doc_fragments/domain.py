# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the shared domain engine (l1_domain, l2_domain).
    DOCUMENTATION = r'''
options:
  name:
    description:
      - Name of the libvirt domain. Also used in the names of the volumes the module creates
        (C(<name>@<disk>.qcow2) (C(.img) for raw, C(.vmdk) for vmdk) and C(<name>-cidata.iso)). No name holds an C(@),
        so two domains never share a volume name.
      - Volumes made by version 0.1.0 were called C(<name>-<disk>.qcow2); a domain whose definition
        records or uses a volume of that name keeps it.
      - 1 to 64 letters, digits, V(.), V(_), V(+) or V(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) defines the domain (or updates its definition) and leaves its power state alone.
      - V(running) also starts it (or resumes it when paused). V(shutdown) asks the guest to shut down and
        waits, bounded by O(timeout). V(destroyed) powers it off at once.
      - V(absent) powers off and undefines it; its volumes are kept unless O(remove_storage=true).
      - Every state change waits until libvirt reports the target state, so the next task sees it.
    type: str
    choices: [present, running, shutdown, destroyed, absent]
    default: running
  vcpus:
    description: Number of virtual CPUs. Defaults per level or profile (see the module description).
    type: int
  memory:
    description:
      - Memory, as MiB (V(4096)) or with a unit (V(4GiB), V(512MiB)). V(G) and V(M) are binary like V(GiB) and V(MiB),
        V(GB) and V(MB) are decimal.
    type: str
  cpu_mode:
    description:
      - V(host-passthrough) shows the guest the host CPU as is (the default with KVM).
      - V(host-model) and V(custom) (with O(cpu_model)) show a named model; V(maximum) is everything the
        hypervisor can offer (the default under emulation, where host-passthrough is impossible).
    type: str
    choices: [host-passthrough, host-model, custom, maximum]
  cpu_model:
    description: CPU model name for O(cpu_mode=custom), e.g. V(EPYC) or V(Skylake-Server).
    type: str
  cpu_topology:
    description:
      - How the vCPUs are laid out. By default one socket with O(vcpus) cores and one thread each; without any
        topology libvirt would give QEMU one socket per vCPU, and Windows editions limited to one or two sockets
        would then use fewer CPUs than the guest has.
      - The product of O(cpu_topology.sockets), O(cpu_topology.cores) and O(cpu_topology.threads) must be O(vcpus).
    type: dict
    suboptions:
      sockets:
        description: Sockets.
        type: int
        default: 1
      cores:
        description: Cores per socket. Defaults to O(vcpus) divided by sockets times threads.
        type: int
      threads:
        description: Threads per core.
        type: int
        default: 1
  virt_type:
    description:
      - libvirt domain type. V(kvm) needs a usable /dev/kvm with VT-x/AMD-V behind the URI.
      - V(qemu) is pure emulation (TCG). It works on any host but is far slower.
      - V(auto) picks V(kvm) where the host can run it and otherwise V(qemu), with a warning. Where libvirt offers
        only V(kvm) (a QEMU built without TCG), V(auto) picks V(kvm), with a warning. It is the decision
        RV(nestedkvm.stack.kvm_host_info#module:kvm_host.recommended_virt_type) reports for the same host.
      - V(kvm) and V(qemu) fail before anything is changed when libvirt does not list that domain type for x86_64
        in its capabilities (C(virsh capabilities)).
    type: str
    choices: [auto, kvm, qemu]
    default: auto
  machine:
    description: Machine type. V(q35) (PCIe, needed for Secure Boot) or V(pc) (i440fx).
    type: str
    choices: [q35, pc]
    default: q35
  firmware:
    description: V(bios) (SeaBIOS) or V(efi) (OVMF, chosen by libvirt's firmware auto-selection).
    type: str
    choices: [bios, efi]
  disks:
    description:
      - Disks, in boot order. Each becomes a volume C(<name>@<disk name>.qcow2) (C(.img) for raw, C(.vmdk) for vmdk)
        in O(disks[].pool), created by the module when missing. Existing volumes are used as they are and never shrunk.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Disk name, unique within the domain.
        type: str
        required: true
      size:
        description: Size in GiB (V(20)) or with a unit (V(20GiB)). Required unless O(disks[].backing_image) is set.
        type: str
      format:
        description: Image format.
        type: str
        choices: [qcow2, raw, vmdk]
        default: qcow2
      pool:
        description: libvirt storage pool to create the volume in.
        type: str
        default: default
      backing_image:
        description:
          - Absolute path of a base image on the host (in a storage pool, or a local file). The disk is then a
            qcow2 copy-on-write overlay of it, at least as large as the base; the base is never written.
        type: str
      bus:
        description: Disk bus. Defaults to V(virtio), or V(sata) for the V(windows11) profile.
        type: str
        choices: [virtio, sata, scsi]
  cloud_init:
    description:
      - A NoCloud seed (a small ISO labelled C(cidata)) built on the host and attached as a CD-ROM, for
        cloud images that run cloud-init on first boot. Changing it re-seeds the domain (a new instance-id).
    type: dict
    suboptions:
      hostname:
        description: Guest hostname (meta-data C(local-hostname)); defaults to O(name).
        type: str
      ssh_authorized_keys:
        description: Public SSH keys for the default user. Prefer keys to passwords.
        type: list
        elements: str
      ssh_host_keys:
        description:
          - Unencrypted OpenSSH private keys (as C(ssh-keygen -t ed25519 -N "") writes them) that the guest uses as
            its SSH host keys, at most one per type (ed25519, ecdsa, rsa). Written into user-data as cloud-init's
            C(ssh_keys), with the public halves derived from them.
          - Generate them on the controller and put the public keys in C(known_hosts) before the first
            connection, so SSH checks the guest's identity from the start instead of trusting it on first use.
          - Never shown in output (C(no_log)). They are in the seed volume, which only root and the QEMU user can
            read (mode 0600). Needs O(cloud_init.user_data) as a dict, or unset.
        type: list
        elements: str
      user_data:
        description:
          - A dict, written as C(#cloud-config), or a string passed through as is (e.g. a shell script starting
            with C(#!)).
          - Plain-text passwords are refused without being repeated (C(password), C(plain_text_passwd) anywhere, a
            C(passwd) or C(hashed_passwd) of an account in C(users) (list or mapping), C(user) or
            C(system_info.default_user) that is not a crypt(3) hash such as C($6$<salt>$<hash>) or a lock C(!),
            C(chpasswd.list) in either form, C(chpasswd.users) entries whose type is not C(hash)); give C(passwd) a
            crypt hash, or better, use SSH keys.
          - That holds for a dict and for what cloud-init reads as configuration in a string - a C(#cloud-config)
            document, the parts of a MIME multi-part message (declared C(text/cloud-config), recognised by their
            first line, or gzip-compressed) and the entries of a C(#cloud-config-archive). A document that is not
            valid YAML, or not a mapping, is refused too. Scripts (C(#!)), boothooks, part handlers, C(#include)
            (fetched by the guest), jinja templates (rendered by the guest) and C(#cloud-config-jsonp) are passed
            through unchecked.
          - A string is read with PyYAML on the host that runs the module. Where PyYAML is missing, its
            C(#cloud-config) text is refused if it names a password key or has a backslash escape (which could
            spell one), saying so; install PyYAML there (C(python3-yaml); the nestedkvm.stack.l0_host role does)
            or give a dict.
          - Never logged (C(no_log)); the diff shows that the seed changed (its digest), never its content.
        type: raw
      vendor_data:
        description:
          - The seed's vendor-data, in the same forms as O(cloud_init.user_data) and checked the same way. It is
            the configuration a platform gives each of its guests, which the guest's own user-data can override or
            turn off (C(vendor_data) in user-data).
          - Never logged (C(no_log)).
        type: raw
      network_config:
        description:
          - Network configuration (version 1 or 2) as a dict.
          - Never logged (C(no_log)), as it can hold secrets (e.g. Wi-Fi passwords).
        type: dict
  networks:
    description:
      - Network interfaces, in order. MAC addresses libvirt generates are kept on later runs.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description:
          - V(network) (a libvirt network), V(bridge) (a host bridge) or V(user) (user-mode networking, no
            host set-up, outgoing traffic is NATed by QEMU or passt, incoming only through O(networks[].forwards)).
          - V(user) is libvirt's passt backend where the host's libvirt and passt support it (and the host has an IPv4
            default route, without which passt gives the guest no address), else a QEMU netdev in
            the domain's C(<qemu:commandline>); the choice is automatic and returned as RV(user_network_backend).
        type: str
        choices: [network, bridge, user]
        default: network
      source:
        description: libvirt network name or bridge name. Not used with V(user).
        type: str
      model:
        description: NIC model; V(virtio) by default, V(e1000e) for the V(windows11) profile.
        type: str
        choices: [virtio, e1000e, rtl8139]
      mac:
        description: MAC address. When unset, libvirt's (or QEMU's) choice is kept for good.
        type: str
      forwards:
        description: Host ports forwarded to the guest, type V(user) only. They listen on 127.0.0.1 only.
        type: list
        elements: dict
        default: []
        suboptions:
          host_port:
            description:
              - Port on the host's 127.0.0.1.
              - With a local C(qemu) URI, a port QEMU could not bind is refused before define - one below
                C(/proc/sys/net/ipv4/ip_unprivileged_port_start) (usually 1024), or one another process already
                holds on 127.0.0.1 or a wildcard address. The domain's own running QEMU (or its passt), which holds it,
                is no conflict.
            type: int
            required: true
          guest_port:
            description: Port in the guest.
            type: int
            required: true
          protocol:
            description: Protocol.
            type: str
            choices: [tcp, udp]
            default: tcp
      restrict:
        description:
          - Type V(user) only. Isolate the guest from everything but the forwarded ports (QEMU C(restrict=on)).
          - Unrestricted, the guest reaches the outside through the host, and QEMU maps the host's own 127.0.0.1
            into the guest as 10.0.2.2 - so the guest reaches every service that listens on the host's loopback,
            other guests' SSH forwards and consoles included. Restrict every guest you do not trust fully.
          - passt offers no such isolation, so a domain with a restricted user network uses the QEMU netdev. On
            passt an unrestricted guest reaches the host's loopback too, through its gateway address (passt's
            default mapping).
        type: bool
        default: false
  graphics:
    description:
      - Graphical console. V(none) leaves only the serial console (C(virsh console)). The default is V(none), and
        V(vnc) for the V(windows11) profile of M(nestedkvm.stack.l2_domain).
      - V(vnc) and V(spice) listen on 127.0.0.1 only (use an SSH tunnel) and need O(graphics_password). They come
        with a VGA video device and a USB tablet (an absolute pointer).
    type: str
    choices: [none, vnc, spice]
  graphics_password:
    description: Password of the graphical console (VNC allows at most 8 characters). Never shown in output.
    type: str
  console_log:
    description:
      - Keep what the guest writes to its serial console (firmware, boot loader, kernel) in
        C(/var/log/libvirt/qemu/<name>-serial.log) on the host, rewritten at each start (RV(console_log)).
        C(virsh console) works as before.
      - Set V(false) for C(qemu:///session), where that directory is not writable.
    type: bool
    default: true
  kernel_boot:
    description: Direct kernel boot, e.g. for images without a boot loader.
    type: dict
    suboptions:
      kernel:
        description: Absolute path of the kernel on the host.
        type: str
        required: true
      initrd:
        description: Absolute path of the initrd on the host.
        type: str
      cmdline:
        description: Kernel command line, e.g. C(root=/dev/vda rw console=ttyS0).
        type: str
  autostart:
    description: Start the domain when the host boots. Left as it is when unset.
    type: bool
  timeout:
    description: Seconds to wait for a state change (start, shutdown) before failing.
    type: int
    default: 120
  restart_on_change:
    description:
      - When the definition of a running domain changes, the change is saved and takes effect on the next boot
        (the result says RV(reboot_required)). With V(true) the module shuts the domain down and starts it again.
    type: bool
    default: false
  remove_storage:
    description:
      - With O(state=absent), also delete the volumes this collection created for the domain (recorded in its
        metadata, for its UUID). Volumes it did not create are never deleted.
      - A recorded volume is kept (and listed in RV(kept_volumes), with a warning) when it is not a disk of the domain,
        or when another domain defined on the host uses it, as a disk or as the backing file of one.
      - The record of a copy of a domain (C(virsh dumpxml) and C(virsh define) under another name, C(virt-clone)) names
        the original's UUID, not the copy's, so removing the copy never deletes a volume.
    type: bool
    default: false
  adopt:
    description:
      - Let this task manage a domain of this name that the collection did not create (made by hand, by another
        tool, or a copy of one of the collection's domains).
      - Without it, such a domain is never changed, started, stopped or removed, in any O(state); the task fails
        before touching anything, naming the domain and this option.
      - With it, the domain is taken over (C(adopt) in RV(actions), C(ownership) in the diff) and from then on is the
        collection's. Its existing volumes do not become the collection's; O(remove_storage) never deletes them.
      - Domains made by version 0.1.0 record no UUID; they are the collection's without O(adopt), and the next
        run records their UUID (a change of C(ownership) only, which needs no reboot).
    type: bool
    default: false
  access:
    description:
      - How Ansible reaches the guest over SSH, recorded in the collection's record in the domain's metadata, where
        the P(nestedkvm.stack.topology#inventory) inventory plugin reads it. Nothing in the guest changes; make the
        account with O(cloud_init) (the P(nestedkvm.stack.l1_hypervisor#role) and P(nestedkvm.stack.l2_guests#role)
        roles pass both).
      - Without O(access.address), the guest is reached through the forward of O(networks[].forwards) that leads to
        guest port O(access.port), on the loopback of the host the domain runs on; a task without such a forward fails
        before anything is changed, naming O(access.address).
      - A change of O(access) changes only the record (C(access) in RV(changed_facts)); it needs no reboot. Unset, the
        record holds none.
    type: dict
    suboptions:
      user:
        description: The account to log in as (a user name; the one O(cloud_init) makes).
        type: str
      host_key_alias:
        description:
          - The name the guest's SSH host key is listed under in the controller's C(known_hosts) (SSH's
            C(HostKeyAlias)), as the roles write it.
          - A host name, an address or C([address]:port).
        type: str
      address:
        description:
          - Host name or IP address where the guest's SSH listens, reachable from the controller (e.g. a bridged
            guest's static address). Unset, the guest is reached through a port forward.
        type: str
      port:
        description:
          - The guest's SSH port - at O(access.address), or without it the guest port a forward leads to.
        type: int
        default: 22
notes:
  - Idempotent. The definition is compared semantically with libvirt's (defaults libvirt adds, such as PCI
    addresses, aliases and controllers, are not changes); the domain is redefined only when a managed fact
    differs, and UUID, MAC and device addresses are kept. The same comparison serves check mode and C(--diff).
  - Devices this module does not manage (controllers, video, input, ...) survive redefinition untouched, and so
    does what a person adds inside the ones it manages, such as a disk's C(<iotune>) or C(<serial>) or an
    interface's C(<link>), because the definition is edited in place.
  - Bad options fail before anything is created or changed; volumes created during a run that then fails
    are deleted again.
  - One libvirt connection per run.
requirements:
  - libvirt-python
  - lxml
'''

    # The uri option of every module that talks to libvirt (checked by _connection.validate_uri), and the action
    # group that sets it once for all of them (meta/runtime.yml).
    LIBVIRT_URI = r'''
attributes:
  action_group:
    description: Use C(group/nestedkvm.stack.libvirt) in C(module_defaults) to set O(uri) once for all libvirt modules.
    support: full
    membership:
      - nestedkvm.stack.libvirt
options:
  uri:
    description:
      - libvirt connection URI. Accepted are QEMU's system or session daemon, on this host (V(qemu:///system), V(qemu:///session),
        C(qemu+unix:///system)) or on another through SSH or TLS (C(qemu+ssh://user@host/system),
        C(qemu+libssh://...), C(qemu+libssh2://...), C(qemu+tls://host/system)), with the parameters C(mode),
        C(proxy) (V(auto) or V(native)), C(no_tty) and C(sshauth); and libvirt's in-memory V(test:///default).
      - Refused before anything is opened, naming O(uri) - C(qemu+tcp) (libvirt's control channel unencrypted),
        C(qemu+ext) and the parameters C(command) and C(netcat) (libvirt would run a program), C(test:///<file>)
        and the parameters C(socket), C(keyfile), C(pkipath) and C(known_hosts) (libvirt would read a file, and
        may quote it in its errors), a password in the URI, and anything else. Set SSH up in C(~/.ssh/config) and
        TLS in C(/etc/pki) instead.
    type: str
    default: qemu:///system
'''
