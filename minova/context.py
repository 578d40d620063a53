"""Request context: who is asking, carried from the API through RPC to compute."""
from __future__ import annotations

from typing import Any, cast

from oslo_context import context as oslo_context

# The longest user or project id the databases hold (String(255) columns;
# Keystone's ids are 32-64 characters). A noauth token naming a longer one is
# refused at authentication rather than failing the first write that stores it.
MAX_ID_LENGTH = 255


def ids_fit(*ids: str | None) -> bool:
    return all(len(i or '') <= MAX_ID_LENGTH for i in ids)


class RequestContext(oslo_context.RequestContext):
    """oslo.context's context plus the fields mini-Nova needs (is_admin from roles).

    `service_catalog` holds the caller's catalog entries (from keystonemiddleware's
    X-Service-Catalog) so that services can be reached with the caller's token.
    """

    def __init__(self, *args: Any, service_catalog: list[dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault('is_admin', 'admin' in (kwargs.get('roles') or []))
        super().__init__(*args, **kwargs)
        self.service_catalog = service_catalog or []

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d['is_admin'] = self.is_admin
        d['service_catalog'] = self.service_catalog
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any) -> RequestContext:
        kwargs.setdefault('service_catalog', values.get('service_catalog'))
        return super().from_dict(values, is_admin=values.get('is_admin', False), **kwargs)

    def elevated(self) -> RequestContext:
        ctx = RequestContext.from_dict(self.to_dict())
        ctx.is_admin = True
        if 'admin' not in ctx.roles:
            ctx.roles = [*ctx.roles, 'admin']
        return ctx


def project_id(ctx: RequestContext) -> str:
    """The project a request acts for, as the DB and quota functions take it.

    oslo.context types it optional: noauth2 always names one, keystone one for
    every project-scoped token. An unscoped token's None is passed on as it
    always was (a query on it matches no project's rows).
    """
    return cast(str, ctx.project_id)


def user_id(ctx: RequestContext) -> str:
    """The user a request acts for: both auth middlewares of the compute API
    refuse a request without one."""
    user = ctx.user_id
    assert user is not None, 'the auth middleware sets the user'
    return user


def get_admin_context() -> RequestContext:
    return RequestContext(user_id=None, project_id=None, is_admin=True, roles=['admin'],
                          overwrite=False)
