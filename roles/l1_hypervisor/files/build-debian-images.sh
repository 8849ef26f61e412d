#!/usr/bin/env bash
# Builds the lab's Debian images from the Debian archive with debootstrap; no cloud image download.
#
#   build-debian-images.sh OUTDIR NAME [MIRROR] [RELEASE]
#
# RELEASE is debian12 (bookworm, the default) or debian13 (trixie).
# OUTDIR/NAME-l1.qcow2      an L1 hypervisor: systemd, cloud-init, SSH, qemu-guest-agent, QEMU/KVM,
#                           libvirt, swtpm, OVMF, python3-libvirt and python3-lxml already installed,
#                           because the lab's L1 has no network beyond its forwarded SSH port. It carries
#                           the L2 image, kernel and initrd at /var/lib/nestedkvm/images/RELEASE-l2.qcow2,
#                           RELEASE.vmlinuz and RELEASE.initrd for the guests it will run.
# OUTDIR/NAME-l2.qcow2      the guest image: the same system without the hypervisor packages.
# OUTDIR/NAME.vmlinuz, OUTDIR/NAME.initrd   the kernel both boot with (direct kernel boot, root=/dev/vda).
#
# The images are ext4 file systems on the whole disk (no partition table, no boot loader): mkfs.ext4 -d
# fills them from the tree, so no loop device or mount is needed. Outputs appear all at once, by rename,
# so an interrupted build never leaves a file a later run would take for a finished image.
set -euo pipefail

releases="debian12 debian13"
usage="usage: build-debian-images.sh OUTDIR NAME [MIRROR] [RELEASE], RELEASE one of: $releases"
out=${1:?$usage}
name=${2:?$usage}
mirror=${3:-http://deb.debian.org/debian}
release=${4:-debian12}
guest_packages="linux-image-amd64 systemd-sysv udev kmod iproute2 openssh-server qemu-guest-agent cloud-init sudo
  python3 python3-apt"
hypervisor_packages="qemu-system-x86 qemu-utils ipxe-qemu libvirt-daemon-system libvirt-clients python3-libvirt
  python3-lxml ovmf swtpm swtpm-tools"
# Every package name above is the same in both releases (trixie's libvirt-daemon-system depends on the per-driver
# packages it was split into, libvirt-daemon-driver-qemu and the others, so the list stays).
case $release in
  debian12)
    suite=bookworm
    ;;
  debian13)
    suite=trixie
    # libvirt 11.3 gives a user-mode interface the passt backend (libvirt's own interface, with portForward on
    # 127.0.0.1) where the passt binary is installed; bookworm's libvirt 9.0 was built without it.
    hypervisor_packages="$hypervisor_packages passt"
    ;;
  *)
    echo "build-debian-images.sh: unknown RELEASE '$release'; $usage" >&2
    exit 2
    ;;
esac

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

step "debootstrap $suite ($release) from $mirror"
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

# QEMU's user network with restrict=on (the lab's) hands out no router, and passt serves its guests no DHCP lease
# on a host without a default route: an L1 on passt's side would leave its L2s without an address. So a fallback
# default route to QEMU's gateway; restrict=on still drops whatever leaves, and a router from DHCP (metric 1024) wins.
[Route]
Gateway=10.0.2.2
GatewayOnLink=yes
Metric=4096
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
# The one kernel linux-image-amd64 installed, from /boot: the /vmlinuz symlinks depend on kernel-img.conf.
kernels=("$root"/boot/vmlinuz-*)
[ ${#kernels[@]} -eq 1 ] && [ -e "${kernels[0]}" ] || { echo "expected one kernel in /boot: ${kernels[*]}" >&2; exit 1; }
kversion=${kernels[0]##*/vmlinuz-}
cp "${kernels[0]}" "$work/$release.vmlinuz"
cp "$root/boot/initrd.img-$kversion" "$work/$release.initrd"
chmod 0644 "$work/$release.vmlinuz" "$work/$release.initrd"
make_image "$release-l2"

step "install the hypervisor packages"
chroot_mounts up
# shellcheck disable=SC2086
apt_install apt-hypervisor.log $hypervisor_packages
chroot_mounts down
# libvirt's default NAT network would bring up 192.168.122.0/24 inside the L1: never autostart it.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"
mkdir -p "$root/var/lib/nestedkvm/images"
cp "$work/$release-l2.qcow2" "$work/$release.vmlinuz" "$work/$release.initrd" "$root/var/lib/nestedkvm/images/"
make_image "$release-l1"

step "publish to $out as $name-*"
for kind in .vmlinuz .initrd -l2.qcow2 -l1.qcow2; do  # the L1 image last: its presence means "done"
  chmod 0644 "$work/$release$kind"
  mv -f "$work/$release$kind" "$out/$name$kind"
done
step done
