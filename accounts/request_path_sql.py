"""The two queries of every authenticated request, as hand-written SQL (stellar_mcp_site/sql.py says why).

Rows are decoded with the same database converters the ORM applies (SQLite returns naive datetimes as
text; the converters make them aware).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Model

from accounts.models import ApiKey
from stellar_mcp_site.sql import Quote, once_per_database
from tenants.models import Tenant, TenantAccess

Decoder = Callable[[tuple], list[Any]]


def _user_model() -> type[Model]:
    return ApiKey._meta.get_field("user").related_model


def _decoder(fields: list) -> Decoder:
    """Converts raw column values to Python values field by field, as the ORM's compiler does."""
    steps = []
    for field in fields:
        col = field.get_col("t")
        steps.append((connection.ops.get_db_converters(col) + col.get_db_converters(connection), col))

    def decode(values: tuple) -> list[Any]:
        out = []
        for value, (converters, col) in zip(values, steps, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            out.append(value)
        return out

    return decode


@once_per_database
def _key_with_owner_plan(_q: Quote) -> tuple[str, list, list, Decoder]:
    user_model = _user_model()
    key_fields = list(ApiKey._meta.concrete_fields)
    user_fields = list(user_model._meta.concrete_fields)
    access_fields = [TenantAccess._meta.pk, TenantAccess._meta.get_field("all_tenants")]
    columns = (
        [f"k.{_q(f.column)}" for f in key_fields]
        + [f"u.{_q(f.column)}" for f in user_fields]
        + [f"ta.{_q(f.column)}" for f in access_fields]
    )
    user_pk = f"u.{_q(user_model._meta.pk.column)}"
    sql = (
        f"SELECT {', '.join(columns)} "
        f"FROM {_q(ApiKey._meta.db_table)} k "
        f"INNER JOIN {_q(user_model._meta.db_table)} u ON {user_pk} = k.{_q(ApiKey._meta.get_field('user').column)} "
        f"LEFT OUTER JOIN {_q(TenantAccess._meta.db_table)} ta "
        f"ON ta.{_q(TenantAccess._meta.get_field('user').column)} = {user_pk} "
        f"WHERE k.{_q(ApiKey._meta.get_field('public_id').column)} = %s"
    )
    return sql, key_fields, user_fields, _decoder(key_fields + user_fields + access_fields)


def load_key_with_owner(public_id: str) -> ApiKey | None:
    """The ApiKey by public id, its `user` set and the user's `tenant_access` cached (row or None)."""
    sql, key_fields, user_fields, decode = _key_with_owner_plan()
    with connection.cursor() as cursor:
        cursor.execute(sql, [public_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = decode(row)
    n_key, n_user = len(key_fields), len(user_fields)
    key = ApiKey.from_db(connection.alias, [f.attname for f in key_fields], values[:n_key])
    user = _user_model().from_db(connection.alias, [f.attname for f in user_fields], values[n_key : n_key + n_user])
    key.user = user
    access_id, all_tenants = values[n_key + n_user :]
    if access_id is None:
        # Caches "no row", so reading user.tenant_access raises DoesNotExist without a query.
        TenantAccess._meta.get_field("user").remote_field.set_cached_value(user, None)
    else:
        user.tenant_access = TenantAccess.from_db(
            connection.alias, ["id", "user_id", "all_tenants"], [access_id, user.pk, bool(all_tenants)]
        )
    return key


@once_per_database
def _m2m_cust_ids_sql(_q: Quote, model: type[Model], marker: int) -> str:
    field = model._meta.get_field("tenants")
    return (
        f"SELECT t.{_q(Tenant._meta.get_field('cust_id').column)}, {marker} "
        f"FROM {_q(field.remote_field.through._meta.db_table)} m "
        f"INNER JOIN {_q(Tenant._meta.db_table)} t ON t.{_q(Tenant._meta.pk.column)} = m.{_q(field.m2m_reverse_name())} "
        f"WHERE m.{_q(field.m2m_column_name())} = %s"
    )


def tenant_cust_ids(*, api_key_id: int | None, access_id: int | None) -> list[tuple[str, int]]:
    """(cust_id, 1) for each tenant the key `api_key_id` is restricted to, and (cust_id, 0) for each tenant
    of the TenantAccess row `access_id`; either id may be None (nothing of that kind)."""
    parts = [(sql, pk) for sql, pk in ((_m2m_cust_ids_sql(ApiKey, 1), api_key_id), (_m2m_cust_ids_sql(TenantAccess, 0), access_id))
             if pk is not None]
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sql for sql, _ in parts), [pk for _, pk in parts])
        return cursor.fetchall()
