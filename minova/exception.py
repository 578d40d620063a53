"""Errors that carry the HTTP status and message a Nova user would see."""
from __future__ import annotations

from typing import Any


class MinovaException(Exception):
    """Base error. msg_fmt is formatted with the keyword arguments."""

    msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)


class Invalid(MinovaException):
    msg_fmt = 'Bad request.'
    code = 400


class NotFound(MinovaException):
    msg_fmt = 'Resource could not be found.'
    code = 404


class Forbidden(MinovaException):
    msg_fmt = 'Forbidden.'
    code = 403


class Conflict(MinovaException):
    msg_fmt = 'Conflict.'
    code = 409


class InstanceNotFound(NotFound):
    msg_fmt = 'Instance %(instance_id)s could not be found.'


class FlavorNotFound(NotFound):
    msg_fmt = 'Flavor %(flavor_id)s could not be found.'


class CellMappingNotFound(NotFound):
    msg_fmt = 'Cell %(uuid)s has no mapping.'


class HostMappingNotFound(NotFound):
    msg_fmt = 'Host %(name)s is not mapped to any cell'


class ComputeHostNotFound(NotFound):
    msg_fmt = 'Compute host %(host)s could not be found.'


class ServiceNotFound(NotFound):
    msg_fmt = 'Service %(service_id)s could not be found.'


class NoValidHost(MinovaException):
    msg_fmt = 'No valid host was found. %(reason)s'
    code = 500


class MaxRetriesExceeded(NoValidHost):
    msg_fmt = 'Exceeded maximum number of retries. %(reason)s'


class BuildAbortException(MinovaException):
    msg_fmt = 'Build of instance %(instance_uuid)s aborted: %(reason)s'


class ReimageException(MinovaException):
    msg_fmt = 'Reimaging volume failed.'


class RescheduledException(MinovaException):
    msg_fmt = 'Build of instance %(instance_uuid)s was re-scheduled: %(reason)s'


class InstanceInvalidState(Conflict):
    msg_fmt = ('Cannot \'%(action)s\' instance %(instance_uuid)s while it is in '
               '%(attr)s %(state)s')


class InstanceIsLocked(Conflict):
    msg_fmt = 'Instance %(instance_uuid)s is locked'


class InstanceNotRunning(Conflict):
    msg_fmt = 'Instance %(instance_id)s is not running.'


class TriggerCrashDumpNotSupported(Invalid):
    msg_fmt = 'Triggering crash dump is not supported'


class InstanceNotRescuable(Invalid):
    msg_fmt = 'Instance %(instance_id)s cannot be rescued: %(reason)s'


class MultiattachNotSupportedOldMicroversion(Invalid):
    msg_fmt = 'Multiattach volumes are only supported starting with compute API version 2.60.'


class MultiattachToShelvedNotSupported(Invalid):
    msg_fmt = ('Attaching multiattach volumes is not supported for shelved-offloaded '
               'instances.')


class MultiattachSwapVolumeNotSupported(Invalid):
    msg_fmt = ('Swapping multi-attach volumes with more than one read/write attachment is '
               'not supported.')


class MultiattachNotSupportedByVirtDriver(Invalid):
    # Nova's is a NotSupported that its API answers with 400.
    msg_fmt = ("Volume %(volume_id)s has 'multiattach' set, which is not supported for "
               "this instance.")


class ImageUnacceptable(Invalid):
    msg_fmt = 'Image %(image_id)s is unacceptable: %(reason)s'


class UnsupportedRescueImage(Invalid):
    msg_fmt = "Requested rescue image '%(image)s' is not supported"


class InstancePasswordSetFailed(Conflict):
    msg_fmt = 'Failed to set admin password on %(instance)s because %(reason)s'


class SetAdminPasswdNotSupported(MinovaException):
    """The driver sets passwords, but not in this guest (no agent in it)."""
    msg_fmt = 'set_admin_password is not supported by this driver or guest instance.'


class NotSupported(MinovaException):
    """A driver (or deployment) that cannot do this: Nova's 501."""
    msg_fmt = 'The requested functionality is not supported.'
    code = 501


class ComputeServiceUnavailable(Invalid):
    msg_fmt = 'Compute service of %(host)s is unavailable at this time.'


class InstanceNotReady(Conflict):
    msg_fmt = 'Instance %(instance_id)s is not ready'


class QuotaError(Forbidden):
    msg_fmt = 'Quota exceeded: code=%(code)s'


class MetadataLimitExceeded(Forbidden):
    msg_fmt = 'Maximum number of metadata items exceeds %(allowed)d'


class TooManyInstances(Forbidden):
    msg_fmt = ('Quota exceeded for %(overs)s: Requested %(req)s, but already used '
               '%(used)s of %(allowed)s %(overs)s')


class QuotaRecheckFailed(TooManyInstances):
    """Over a limit only once this request's servers were recorded beside a
    concurrent request's: worth counting again after the others settle."""


class PlacementAPIConnectFailure(MinovaException):
    msg_fmt = 'Unable to communicate with the Placement API.'
    # Where it reaches a client (the API's own placement calls): a peer is
    # down, worth retrying; nothing was done (callers write after placement).
    code = 503

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        if message is None and kwargs.get('reason'):
            message = f"{self.msg_fmt[:-1]}: {kwargs['reason']}"
        super().__init__(message, **kwargs)


class PlacementAPIUnavailable(PlacementAPIConnectFailure):
    """Placement answered with a server error (5xx): starting, its database
    not synced or not reachable, or failing. Worth trying again later."""
    msg_fmt = 'Placement answered %(status)s to %(what)s: %(detail)s'


class ResourceProviderConflict(Conflict):
    msg_fmt = 'A conflict was encountered attempting to update resource provider %(uuid)s.'


class AllocationUpdateFailed(MinovaException):
    msg_fmt = 'Failed to update allocations for consumer %(consumer_uuid)s. Error: %(error)s'


class ConsoleTypeInvalid(Invalid):
    msg_fmt = 'Invalid console type %(console_type)s'


class ConsoleTypeUnavailable(Invalid):
    msg_fmt = 'Unavailable console type %(console_type)s.'


class SocketPortRangeExhaustedException(Invalid):
    msg_fmt = 'Not able to acquire a free port for %(host)s'


class CannotResizeDisk(Invalid):
    msg_fmt = 'Server disk was unable to be resized because: %(reason)s'


class MigrationNotFoundByStatus(NotFound):
    msg_fmt = 'Migration not found for instance %(instance_id)s with status %(status)s.'


class CannotMigrateToSameHost(Invalid):
    msg_fmt = 'Cannot migrate to the host where the server exists.'


class UnshelveInstanceInvalidState(InstanceInvalidState):
    msg_fmt = ('Specifying an availability zone or a host when unshelving server '
               '"%(instance_uuid)s" with status "%(state)s" is not supported. The server '
               'status must be SHELVED_OFFLOADED.')


class UnshelveHostNotInAZ(Conflict):
    msg_fmt = 'Host "%(host)s" is not in the availability zone "%(availability_zone)s".'


class ResizeError(MinovaException):
    msg_fmt = 'Resize error: %(reason)s.'


class InstanceFaultRollback(MinovaException):
    """A move step refused before it changed anything: the server goes back
    to the state it had (not ERROR), the inner error becomes its fault."""

    def __init__(self, inner_exception: Exception) -> None:
        self.inner_exception = inner_exception
        super().__init__(str(inner_exception))
        self.code = getattr(inner_exception, 'code', 500) or 500


class MigrationPreCheckError(MinovaException):
    msg_fmt = 'Migration pre-check error: %(reason)s'
    code = 400


class MigrationAborted(MinovaException):
    """A live migration stopped by live_migration_abort (the guest stays)."""
    msg_fmt = 'Live migration of instance %(instance_id)s was aborted.'


class LiveMigrationFailed(MinovaException):
    msg_fmt = 'Live migration of instance %(instance_id)s failed: %(reason)s'


class UnableToMigrateToSelf(Invalid):
    msg_fmt = ('Unable to migrate instance (%(instance_id)s) to current host '
               '(%(host)s).')


class MigrationNotFoundForInstance(NotFound):
    msg_fmt = 'Migration %(migration_id)s not found for instance %(instance_id)s'


class InvalidMigrationState(Invalid):
    msg_fmt = ('Migration %(migration_id)s state of instance %(instance_uuid)s is '
               '%(state)s. Cannot %(method)s while the migration is in this state.')
class ComputeServiceInUse(Invalid):
    msg_fmt = 'Compute service of %(host)s is still in use.'


class InstanceEvacuateNotSupported(Invalid):
    msg_fmt = 'Instance evacuate is not supported.'


class InstanceExists(MinovaException):
    msg_fmt = 'Instance %(name)s already exists.'
# -- networking (Neutron): codes are those Nova's API answers with ------------

class VirtualInterfaceCreateException(MinovaException):
    msg_fmt = 'Virtual Interface creation failed'


class InstanceEventFailed(MinovaException):
    msg_fmt = 'Instance event failed'


class NetworkNotFound(NotFound):
    msg_fmt = 'Network %(network_id)s could not be found.'


class PortNotFound(NotFound):
    msg_fmt = 'Port id %(port_id)s could not be found.'


class PortInUse(Conflict):
    msg_fmt = 'Port %(port_id)s is still in use.'


class PortNotUsable(Invalid):
    msg_fmt = 'Port %(port_id)s not usable for instance %(instance)s.'


class PortRequiresFixedIP(Invalid):
    msg_fmt = 'Port %(port_id)s requires a FixedIP in order to be used.'


class PortBindingFailed(Invalid):
    msg_fmt = ('Binding failed for port %(port_id)s, please check neutron logs for more '
               'information.')


class PortUpdateFailed(Invalid):
    msg_fmt = 'Port update failed for port %(port_id)s: %(reason)s'


class PortLimitExceeded(QuotaError):
    msg_fmt = 'Maximum number of ports exceeded'


class NetworkAmbiguous(Conflict):
    msg_fmt = ('More than one possible network found. Specify network ID(s) to select '
               'which one(s) to connect to.')


class NetworkDuplicated(Invalid):
    msg_fmt = 'Network %(network_id)s is duplicated.'


class NetworkRequiresSubnet(Invalid):
    msg_fmt = 'Network %(network_uuid)s requires a subnet in order to boot instances on.'


class ExternalNetworkAttachForbidden(Forbidden):
    msg_fmt = 'It is not allowed to create an interface on external network %(network_uuid)s'


class UnableToAutoAllocateNetwork(Invalid):
    msg_fmt = 'Unable to automatically allocate a network for project %(project_id)s'


class FixedIpAlreadyInUse(Conflict):
    msg_fmt = ('Fixed IP address %(address)s is already in use on instance '
               '%(instance_uuid)s.')


class FixedIpInvalidOnHost(Invalid):
    msg_fmt = 'The fixed IP %(address)s is not valid on network %(network_id)s.'


class NoMoreFixedIps(Invalid):
    msg_fmt = 'No fixed IP addresses available for network: %(net)s'


class InvalidFixedIpAndMaxCountRequest(Invalid):
    msg_fmt = 'Failed to launch instances: %(reason)s'


class SecurityGroupNotFound(NotFound):
    msg_fmt = 'Security group %(security_group_id)s not found.'


class SecurityGroupNotFoundForProject(SecurityGroupNotFound):
    msg_fmt = ('Security group %(security_group_id)s not found for project '
               '%(project_id)s.')


class SecurityGroupExistsForInstance(Invalid):
    msg_fmt = ('Security group %(security_group_id)s is already associated with the '
               'instance %(instance_id)s')


class SecurityGroupNotExistsForInstance(Invalid):
    msg_fmt = ('Security group %(security_group_id)s is not associated with the '
               'instance %(instance_id)s')


class SecurityGroupCannotBeApplied(Invalid):
    msg_fmt = ('Network requires port_security_enabled and subnet associated in order '
               'to apply security groups.')


class SecurityGroupLimitExceeded(Forbidden):
    msg_fmt = 'Quota exceeded, too many security groups.'


class InvalidCidr(Invalid):
    msg_fmt = '%(cidr)s is not a valid IP network.'


class InvalidIpProtocol(Invalid):
    msg_fmt = 'Invalid IP protocol %(protocol)s.'


class InvalidPortRange(Invalid):
    msg_fmt = 'Invalid port range %(from_port)s:%(to_port)s. %(msg)s'


class NoUniqueMatch(Conflict):
    msg_fmt = 'No Unique Match Found.'


class InterfaceAttachFailed(MinovaException):
    msg_fmt = 'Failed to attach network adapter device to %(instance_uuid)s'


class InterfaceAttachFailedNoNetwork(Invalid):
    msg_fmt = ("No specific network was requested and none are available for project "
               "'%(project_id)s'.")


class InterfaceDetachFailed(Invalid):
    msg_fmt = 'Failed to detach network adapter device from %(instance_uuid)s'


class NetworkServiceUnavailable(MinovaException):
    msg_fmt = 'The networking service is unavailable: %(reason)s'
    code = 503


# -- volumes (issue 21): Nova's names and messages --------------------------------

class VolumeServiceUnavailable(MinovaException):
    """No [cinder] configured, or Cinder does not answer (Nova: CinderConnectionFailed)."""
    msg_fmt = 'Connection to cinder host failed: %(reason)s'
    code = 503


class VolumeServiceNotConfigured(NotSupported):
    """No [cinder]: a statement about the deployment, as os-interface's 501
    without Neutron."""
    msg_fmt = 'No volume service is configured ([cinder]): volumes are not available.'


class VolumeNotFound(NotFound):
    msg_fmt = 'Volume %(volume_id)s could not be found.'


class VolumeAttachmentNotFound(NotFound):
    msg_fmt = 'Volume attachment %(attachment_id)s could not be found.'


class VolumeBDMNotFound(NotFound):
    msg_fmt = 'No volume Block Device Mapping with id %(volume_id)s.'


class SnapshotNotFound(NotFound):
    msg_fmt = 'Snapshot %(snapshot_id)s could not be found.'


class InvalidVolume(Invalid):
    msg_fmt = 'Invalid volume: %(reason)s'


class InvalidInput(Invalid):
    msg_fmt = 'Invalid input received: %(reason)s'


class OverQuota(Forbidden):
    msg_fmt = 'Quota exceeded for resources: %(overs)s'


class MismatchVolumeAZException(Invalid):
    msg_fmt = ('The availability zone between the server and its attached volumes do '
               'not match: %(reason)s.')


class VolumeAttachFailed(Invalid):
    msg_fmt = 'Volume %(volume_id)s could not be attached. Reason: %(reason)s'


class VolumeDetachFailed(MinovaException):
    msg_fmt = 'Volume %(volume_id)s could not be detached. Reason: %(reason)s'


class DeviceDetachFailed(MinovaException):
    msg_fmt = 'Device detach failed for %(device)s: %(reason)s'


class VolumeDriverNotFound(NotFound):
    msg_fmt = 'Could not find a handler for %(driver_type)s volume.'


class DiskNotFound(NotFound):
    msg_fmt = 'No disk at %(location)s'


# -- floating IPs (Nova's names and messages) ---------------------------------------

class FloatingIpNotFound(NotFound):
    msg_fmt = 'Floating IP not found for ID %(id)s.'


class FloatingIpNotFoundForAddress(NotFound):
    msg_fmt = 'Floating IP not found for address %(address)s.'


class FloatingIpMultipleFoundForAddress(MinovaException):
    msg_fmt = 'Multiple floating IPs are found for address %(address)s.'


class FloatingIpPoolNotFound(NotFound):
    msg_fmt = 'Floating IP pool not found.'


class NoMoreFloatingIps(NotFound):
    msg_fmt = 'Zero floating IPs available.'


class FloatingIpLimitExceeded(Forbidden):
    msg_fmt = 'Maximum number of floating IPs exceeded'


class FloatingIpBadRequest(Invalid):
    msg_fmt = 'Bad floatingip request: %(message)s'


class FixedIpNotFoundForAddress(NotFound):
    msg_fmt = 'Fixed IP not found for address %(address)s.'
class VolumeNotCreated(MinovaException):
    msg_fmt = ('Volume %(volume_id)s did not finish being created even after we waited '
               '%(seconds)s seconds or %(attempts)s attempts. And its status is '
               '%(volume_status)s.')


class InvalidBDM(Invalid):
    msg_fmt = 'Block Device Mapping is Invalid.'


class InvalidBDMFormat(InvalidBDM):
    msg_fmt = 'Block Device Mapping is Invalid: %(details)s'


class InvalidBDMBootSequence(InvalidBDM):
    msg_fmt = ('Block Device Mapping is Invalid: Boot sequence for the instance and '
               'image/block device mapping combination is not valid.')


class InvalidBDMVolume(InvalidBDM):
    msg_fmt = 'Block Device Mapping is Invalid: failed to get volume %(id)s.'


class InvalidBDMSnapshot(InvalidBDM):
    msg_fmt = 'Block Device Mapping is Invalid: failed to get snapshot %(id)s.'


class InvalidBDMImage(InvalidBDM):
    msg_fmt = 'Block Device Mapping is Invalid: failed to get image %(id)s.'


class VolumeTypeNotFound(NotFound):
    msg_fmt = 'Volume type %(id_or_name)s could not be found.'


class VolumeEncryptionNotSupported(Invalid):
    msg_fmt = 'Volume encryption is not supported for %(volume_type)s volume %(volume_id)s'


class KeyManagerError(MinovaException):
    msg_fmt = 'Key manager error: %(reason)s'
