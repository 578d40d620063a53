#!/usr/bin/env bash
# Build the tiny bootable test image from Debian's packages only: a Debian
# kernel and a busybox initramfs on a FAT partition booted by syslinux (BIOS),
# so it boots like any cloud image from its own disk, with no direct kernel
# boot. On its serial console (ttyS0) it prints MINOVA-TEST-IMAGE-BOOTED, then
# reads a config drive (ISO 9660 labelled config-2) if one is attached and
# prints hostname=<hostname from meta_data.json>; without one it asks the
# metadata service at 169.254.169.254 (after DHCP on eth0) and prints
# metadata-service hostname=..., uuid=..., key=... and user_data=<its first
# line> from it (user data line mdloop: metadata-loop <n> uuid=... every 3 s
# after). After DHCP it
# prints MINOVA-TEST-IMAGE-IP <address>, and for each line `ping <address>` in
# the config drive's user_data, MINOVA-TEST-IMAGE-PING <address> ok|fail
# (ok: it answered within about a minute); `pingloop <address>` lines and
# new or removed NICs: see the nic-watch block in the init. It prints its
# vCPU count and memory (MINOVA-TEST-IMAGE-SIZE cpus=N mem_kb=M) and then a
# counter, MINOVA-TICK <n>, once a second, and MINOVA-DISK-ADDED|RESIZED|REMOVED
# lines as virtio disks come, grow and go (the disk watcher block). An ACPI power
# button press powers it off, so soft reboot and stop are graceful. Its VGA
# console (tty1) shows the kernel's messages, the READY marker and a busybox shell.
#
#   tools/build-test-image.sh [OUTPUT]   (default /var/cache/minova-test-image/minova-test.qcow2)
#
# The result is cached: it is rebuilt only when this script or the kernel change.
set -euo pipefail

OUT=${1:-${MINOVA_TEST_IMAGE:-/var/cache/minova-test-image/minova-test.qcow2}}
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in linux-image-amd64 busybox-static syslinux syslinux-common dosfstools mtools \
           fdisk qemu-utils cpio; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

KVER=$(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
KERNEL=/boot/vmlinuz-$KVER
STAMP="$(sha256sum "$0" | cut -c1-16)-$KVER"
if [ -f "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$STAMP" ]; then
    echo "$OUT (cached)"
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/initramfs
mkdir -p "$ROOT"/{bin,dev,proc,sys,mnt,tmp,lib/modules,etc}
cp /bin/busybox "$ROOT/bin/busybox"

# Modules the Debian kernel builds as modules but the guest needs, in load order.
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
      cdrom isofs button evdev failover net_failover virtio_net"
for m in $MODS; do
    f=$(find "/lib/modules/$KVER" -name "$m.ko*" | head -1)
    [ -n "$f" ] || continue
    case "$f" in
        *.xz) xz -dc "$f" > "$ROOT/lib/modules/$m.ko" ;;
        *.zst) zstd -qdc "$f" > "$ROOT/lib/modules/$m.ko" ;;
        *) cp "$f" "$ROOT/lib/modules/$m.ko" ;;
    esac
done
echo "$MODS" > "$ROOT/etc/modules"

cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /etc/modules); do
    [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
echo
echo MINOVA-TEST-IMAGE-BOOTED
# A config drive is any block device carrying ISO 9660 with openstack/latest.
# Disks are probed asynchronously: give the second one a moment to appear.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -b /dev/vdb ] && break
    sleep 0.2
done
for dev in /dev/vd? /dev/sr? /dev/sd?; do
    [ -b "$dev" ] || continue
    if mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null; then
        md=/mnt/openstack/latest/meta_data.json
        if [ -f "$md" ]; then
            echo "config-drive=$dev"
            # One key per line, so sed sees each and every line ends.
            tr ',{}' '\n\n\n' < "$md" > /tmp/md
            sed -n 's/^ *"hostname": *"\([^"]*\)".*/hostname=\1/p' /tmp/md
            sed -n 's/^ *"uuid": *"\([^"]*\)".*/uuid=\1/p' /tmp/md
        fi
        ud=/mnt/openstack/latest/user_data
        [ -f "$ud" ] && cp "$ud" /tmp/user_data
        umount /mnt
    fi
done
# Power button (ACPI) -> power off: lets soft reboot and stop be graceful.
for ev in /sys/class/input/event*; do
    if grep -q 'Power Button' "$ev/device/name" 2>/dev/null; then
        ( dd if=/dev/input/${ev##*/} bs=24 count=1 of=/dev/null 2>/dev/null
          echo 'MINOVA-TEST-IMAGE: power button, powering off'; poweroff -f ) &
    fi
done
if ip link show eth0 >/dev/null 2>&1; then
    ip link set eth0 up
    cat > /tmp/udhcpc.sh <<'DHCP'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
if [ -n "$staticroutes" ]; then
    # option 121 (RFC 3442: it replaces the router option); OVN's DHCP routes
    # 169.254.169.254 to its metadata port this way
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route add "$1" via "$2"; shift 2; done
elif [ -n "$router" ]; then
    ip route add default via "$router"
fi
echo "$ip" > /tmp/ip
exit 0
DHCP
    chmod +x /tmp/udhcpc.sh
    # Without a config drive: ask the metadata service (docs/metadata.md).
    ( udhcpc -q -n -t 3 -i eth0 -O staticroutes -s /tmp/udhcpc.sh >/dev/null 2>&1
      [ -f /tmp/ip ] && echo "MINOVA-TEST-IMAGE-IP $(cat /tmp/ip)"
      # user_data lines "ping <address>": reach that address (a peer guest
      # that may still be booting: keep trying for a while)
      for addr in $(sed -n 's/^ping \([0-9.]*\).*/\1/p' /tmp/user_data 2>/dev/null); do
          result=fail
          for _ in $(seq 30); do
              ping -c 1 -W 2 "$addr" >/dev/null 2>&1 && { result=ok; break; }
          done
          echo "MINOVA-TEST-IMAGE-PING $addr $result"
      done
      mdget() {
          # busybox wget: it stops at the answer's Content-Length (the
          # metadata socket of user-mode networking never closes: slirp) and
          # does not half-close as nc does. No -T: busybox-static's wget
          # crashes with it here.
          timeout 20 wget -qO- "http://169.254.169.254$1" 2>/dev/null
      }
      if [ ! -f /tmp/md ] && mdget /openstack/latest/meta_data.json > /tmp/ms; then
          tr ',{}' '\n\n\n' < /tmp/ms > /tmp/msl
          sed -n 's/^ *"hostname": *"\([^"]*\)".*/metadata-service hostname=\1/p' /tmp/msl
          sed -n 's/^ *"uuid": *"\([^"]*\)".*/metadata-service uuid=\1/p' /tmp/msl
          mdget /latest/meta-data/public-keys/0/openssh-key > /tmp/key \
              && echo "metadata-service key=$(cat /tmp/key)"
          # the user data too; its lines "mdloop": ask again every 3 s and
          # print metadata-loop <n> uuid=<uuid> (a guest that keeps running
          # while its compute restarts)
          if mdget /openstack/latest/user_data > /tmp/msud; then
              echo "metadata-service user_data=$(head -1 /tmp/msud)"
              if grep -q '^mdloop' /tmp/msud; then
                  n=0
                  while sleep 3; do
                      n=$((n + 1))
                      mdget /openstack/latest/meta_data.json | tr ',{}' '\n\n\n' \
                          | sed -n "s/^ *\"uuid\": *\"\([^\"]*\)\".*/metadata-loop $n uuid=\1/p"
                  done
              fi
          fi
      fi ) &
fi
# ---- BEGIN nic-watch and pingloop (issue 19: NIC hot-plug, security groups) ----
# Self-contained: the NIC watcher compares /sys/class/net/eth* with its last
# view once a second; a new ethN is brought up and gets DHCP (an address, no
# default route) and prints MINOVA-NIC-ADDED ethN mac=M ip=A (ip=none when
# DHCP fails), a vanished one MINOVA-NIC-REMOVED ethN. Each user_data line
# `pingloop <address>` pings that address every 2 s (once eth0 had its DHCP
# try) and prints MINOVA-TEST-IMAGE-PINGLOOP <address> ok|fail each time.
nics_now() { echo " $(ls /sys/class/net 2>/dev/null | grep '^eth' | tr '\n' ' ')"; }
cat > /tmp/udhcpc-nic.sh <<'NICDHCP'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
echo "$ip" > "/tmp/ip.$interface"
exit 0
NICDHCP
chmod +x /tmp/udhcpc-nic.sh
( known=$(nics_now)
  while true; do
      sleep 1
      now=$(nics_now)
      for n in $now; do
          case "$known" in *" $n "*) continue ;; esac
          ( ip link set "$n" up
            udhcpc -q -n -t 4 -i "$n" -s /tmp/udhcpc-nic.sh >/dev/null 2>&1
            echo "MINOVA-NIC-ADDED $n mac=$(cat "/sys/class/net/$n/address" 2>/dev/null)" \
                 "ip=$(cat "/tmp/ip.$n" 2>/dev/null || echo none)" ) &
      done
      for n in $known; do
          case "$now" in *" $n "*) continue ;; esac
          rm -f "/tmp/ip.$n"
          echo "MINOVA-NIC-REMOVED $n"
      done
      known=$now
  done ) &
for addr in $(sed -n 's/^pingloop \([0-9.]*\).*/\1/p' /tmp/user_data 2>/dev/null); do
    ( for _ in $(seq 60); do [ -f /tmp/ip ] && break; sleep 1; done
      while true; do
          if ping -c 1 -W 1 "$addr" >/dev/null 2>&1; then r=ok; else r=fail; fi
          echo "MINOVA-TEST-IMAGE-PINGLOOP $addr $r"
          sleep 2
      done ) &
done
# ---- END nic-watch and pingloop ----
# What the guest was given, so a resize can be seen from inside it.
echo "MINOVA-TEST-IMAGE-SIZE cpus=$(grep -c '^processor' /proc/cpuinfo) mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
echo MINOVA-TEST-IMAGE-READY
# A counter on the serial console, one line a second: it stops while the
# guest is paused and carries on (rather than restarting) after a suspend
# and resume or a live migration.
( n=0; while true; do n=$((n + 1)); echo "MINOVA-TICK $n"; sleep 1; done ) &
# Disks added, resized and removed (the disk watcher block below).
/bin/minova-disk-watch &
# The VGA text console (tty1, what a VNC display shows): the marker and a
# shell reading the keyboard, for the browser test (issue 20).
if [ -c /dev/tty1 ]; then
    echo MINOVA-TEST-IMAGE-READY > /dev/tty1
    setsid sh -c 'exec sh -i </dev/tty1 >/dev/tty1 2>&1' &
fi
while true; do sleep 3600; done
EOF
chmod +x "$ROOT/init"

# --- disk watcher (issue 21; self-contained block: /bin/minova-disk-watch in
# the initramfs, started by one line of /init) ---------------------------------
# Once a second it compares /sys/block/vd* with its last view and prints on
# the serial console:
#   MINOVA-DISK-ADDED vdX bytes=N marker=<first line if it starts with MINOVA-MARKER, else none>
#   MINOVA-DISK-RESIZED vdX bytes=N
#   MINOVA-DISK-REMOVED vdX
# Its first view is empty, so the disks present at boot are listed as added.
# Hot-plugged virtio disks need PCI hotplug: ACPI hotplug (acpiphp) is built
# into Debian's kernel, and virtio_pci/virtio_blk are loaded from /etc/modules.
cat > "$ROOT/bin/minova-disk-watch" <<'WATCH'
#!/bin/busybox sh
view=/tmp/disk-view
: > "$view"
while true; do
    : > "$view.new"
    for d in /sys/block/vd*; do
        # A disk detached between the test and the read leaves no size.
        size=$(cat "$d/size" 2>/dev/null) || continue
        [ -n "$size" ] || continue
        echo "${d##*/} $((size * 512))" >> "$view.new"
    done
    while read -r name bytes; do
        old=$(sed -n "s/^$name //p" "$view")
        if [ -z "$old" ]; then
            first=$(dd if="/dev/$name" bs=512 count=1 2>/dev/null | head -n 1 \
                    | tr -cd 'A-Za-z0-9=._:/-')
            case "$first" in
                MINOVA-MARKER*) marker=$first ;;
                *) marker=none ;;
            esac
            echo "MINOVA-DISK-ADDED $name bytes=$bytes marker=$marker"
        elif [ "$old" != "$bytes" ]; then
            echo "MINOVA-DISK-RESIZED $name bytes=$bytes"
        fi
    done < "$view.new"
    while read -r name bytes; do
        grep -q "^$name " "$view.new" || echo "MINOVA-DISK-REMOVED $name"
    done < "$view"
    mv "$view.new" "$view"
    sleep 1
done
WATCH
chmod +x "$ROOT/bin/minova-disk-watch"
# --- end disk watcher ---
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -9) > "$WORK/initrd"

cat > "$WORK/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd
  APPEND console=tty0 console=ttyS0,115200 panic=-1 loglevel=4
EOF

# One FAT16 partition at 1 MiB, made in a file and placed into the disk.
SIZE_MB=48
truncate -s $((SIZE_MB - 1))M "$WORK/fat.img"
mkfs.vfat -n MINOVATEST -h 2048 "$WORK/fat.img" >/dev/null
syslinux --install "$WORK/fat.img"
mcopy -i "$WORK/fat.img" "$KERNEL" ::vmlinuz
mcopy -i "$WORK/fat.img" "$WORK/initrd" ::initrd
mcopy -i "$WORK/fat.img" "$WORK/syslinux.cfg" ::syslinux.cfg
truncate -s ${SIZE_MB}M "$WORK/disk.raw"
echo 'start=2048, type=6, bootable' | sfdisk -q "$WORK/disk.raw"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$WORK/disk.raw" conv=notrunc bs=440 count=1 status=none
dd if="$WORK/fat.img" of="$WORK/disk.raw" conv=notrunc bs=1M seek=1 status=none

mkdir -p "$(dirname "$OUT")"
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$STAMP" > "$OUT.stamp"
echo "$OUT"
