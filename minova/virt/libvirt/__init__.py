"""The libvirt virt driver: KVM or QEMU (TCG) guests through libvirt-python."""
from minova.virt.libvirt.driver import LibvirtDriver

__all__ = ['LibvirtDriver']
