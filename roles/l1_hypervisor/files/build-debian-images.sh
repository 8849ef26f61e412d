#!/usr/bin/env bash
# Builds the lab's Debian images from the Debian archive with debootstrap; no cloud image download.
#
#   build-debian-images.sh OUTDIR NAME [MIRROR] [SUITE]
#
# OUTDIR/NAME-l1.qcow2      an L1 hypervisor: systemd, cloud-init, SSH, qemu-guest-agent, QEMU/KVM,
#                           libvirt, swtpm, OVMF, python3-libvirt and python3-lxml already installed,
#                           because the lab's L1 has no network beyond its forwarded SSH port. It carries
#                           the L2 image, kernel and initrd at /var/lib/nestedkvm/images/<suite>-l2.qcow2,
#                           <suite>.vmlinuz and <suite>.initrd for the guests it will run.
# OUTDIR/NAME-l2.qcow2      the guest image: the same system without the hypervisor packages.
# OUTDIR/NAME.vmlinuz, OUTDIR/NAME.initrd   the kernel both boot with (direct kernel boot, root=/dev/vda).
#
# The images are ext4 file systems on the whole disk (no partition table, no boot loader): mkfs.ext4 -d
# fills them from the tree, so no loop device or mount is needed. Outputs appear all at once, by rename,
# so an interrupted build never leaves a file a later run would take for a finished image.
set -euo pipefail

usage="usage: build-debian-images.sh OUTDIR NAME [MIRROR] [SUITE]"
out=${1:?$usage}
name=${2:?$usage}
mirror=${3:-http://deb.debian.org/debian}
suite=${4:-bookworm}
guest_packages="linux-image-amd64 systemd-sysv udev kmod iproute2 openssh-server qemu-guest-agent cloud-init sudo
  python3 python3-apt"
hypervisor_packages="qemu-system-x86 qemu-utils ipxe-qemu libvirt-daemon-system libvirt-clients python3-libvirt
  python3-lxml ovmf swtpm swtpm-tools"

mkdir -p "$out/.debs/partial"
debs=$(realpath "$out/.debs")  # downloaded packages, kept for the next build
work=$(mktemp -d "$out/.build.XXXXXX")
root=$work/root

chroot_mounts() {  # chroot_mounts up|down: what apt-get inside the tree needs, never left in an image
  if [ "$1" = up ]; then
    mount -t proc proc "$root/proc"
    mount --bind "$debs" "$root/var/cache/apt/archives"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"  # no service starts inside the chroot
    chmod 0755 "$root/usr/sbin/policy-rc.d"
  else
    for m in "$root/var/cache/apt/archives" "$root/proc"; do
      if mountpoint -q "$m"; then umount "$m"; fi
    done
    rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
  fi
}

cleanup() {
  [ -d "$root/proc" ] && chroot_mounts down
  rm -rf "$work"
}
trap cleanup EXIT

apt_install() {  # apt_install LOG PACKAGE...: resolves dependencies (virtual ones too), which debootstrap cannot
  local log=$1
  shift
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    >"$work/$log" 2>&1 || { tail -n 30 "$work/$log"; exit 1; }
}

step() { printf '%(%T)T %s\n' -1 "$*"; }

make_image() {  # make_image NAME: the tree as it is now -> $work/NAME.qcow2
  rm -f "$work/$1.raw"
  qemu-img create -q -f raw "$work/$1.raw" 6G
  mkfs.ext4 -q -F -L root -d "$root" "$work/$1.raw"
  qemu-img convert -O qcow2 "$work/$1.raw" "$work/$1.qcow2"
  rm -f "$work/$1.raw"
}

step "debootstrap $suite from $mirror"
debootstrap --variant=minbase --cache-dir="$debs" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log"; exit 1; }

step "install the guest packages"
chroot_mounts up
# shellcheck disable=SC2086
apt_install apt-guest.log $guest_packages
chroot_mounts down

step "configure the guest system"
echo '/dev/vda / ext4 defaults 0 1' >"$root/etc/fstab"
cat >"$root/etc/systemd/network/20-nestedkvm.network" <<'NET'
[Match]
Name=en*

[Network]
DHCP=yes
NET
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
cat >"$root/etc/cloud/cloud.cfg.d/90-nestedkvm.cfg" <<'CFG'
# The lab attaches a NoCloud seed; do not probe for other clouds, and leave networking to networkd.
datasource_list: [NoCloud, None]
network: {config: disabled}
CFG
# Every VM makes its own host keys on first boot (cloud-init), none is shared through the image.
rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
touch "$root/etc/machine-id"
cp -L "$root/vmlinuz" "$work/$suite.vmlinuz"
cp -L "$root/initrd.img" "$work/$suite.initrd"
chmod 0644 "$work/$suite.vmlinuz" "$work/$suite.initrd"
make_image "$suite-l2"

step "install the hypervisor packages"
chroot_mounts up
# shellcheck disable=SC2086
apt_install apt-hypervisor.log $hypervisor_packages
chroot_mounts down
# libvirt's default NAT network would bring up 192.168.122.0/24 inside the L1: never autostart it.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"
mkdir -p "$root/var/lib/nestedkvm/images"
cp "$work/$suite-l2.qcow2" "$work/$suite.vmlinuz" "$work/$suite.initrd" "$root/var/lib/nestedkvm/images/"
make_image "$suite-l1"

step "publish to $out as $name-*"
for kind in .vmlinuz .initrd -l2.qcow2 -l1.qcow2; do  # the L1 image last: its presence means "done"
  chmod 0644 "$work/$suite$kind"
  mv -f "$work/$suite$kind" "$out/$name$kind"
done
step done
