"""Request context: who is asking, carried from the API through RPC to compute."""
from __future__ import annotations

from typing import Any

from oslo_context import context as oslo_context


class RequestContext(oslo_context.RequestContext):
    """oslo.context's context plus the fields mini-Nova needs (is_admin from roles)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault('is_admin', 'admin' in (kwargs.get('roles') or []))
        super().__init__(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d['is_admin'] = self.is_admin
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any) -> RequestContext:
        return super().from_dict(values, is_admin=values.get('is_admin', False), **kwargs)

    def elevated(self) -> RequestContext:
        ctx = RequestContext.from_dict(self.to_dict())
        ctx.is_admin = True
        if 'admin' not in ctx.roles:
            ctx.roles = [*ctx.roles, 'admin']
        return ctx


def get_admin_context() -> RequestContext:
    return RequestContext(user_id=None, project_id=None, is_admin=True, roles=['admin'],
                          overwrite=False)
