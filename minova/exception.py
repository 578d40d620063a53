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
