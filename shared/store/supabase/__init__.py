"""The Supabase backend: the same store through Supabase's REST API (``SUPABASE_URL`` + service role key).

:class:`SupabaseStore` is the :class:`~shared.store.base.Store` for a Supabase-only setup, where no
direct PostgreSQL connection is available. The front checks each call; the requests it needs
are PostgREST's, by concern in the mixins beside this file; :mod:`.core` holds the client, the
error mapping and the PostgREST form of the front's conditions and function calls.
"""

from __future__ import annotations

from shared.store.supabase.contracts import ContractsMixin
from shared.store.supabase.investigations import InvestigationsMixin
from shared.store.supabase.runs import RunsMixin


class SupabaseStore(ContractsMixin, InvestigationsMixin, RunsMixin):
    """``SupabaseStore(url, service_role_key, *, timeout=30.0)``; nothing connects before the first call."""


__all__ = ["SupabaseStore"]
