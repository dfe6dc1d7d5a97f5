"""Tenants and who may see them: the Tenant rows, users' tenant access, and the TenantScope every query
is limited by. Depends on nothing but Django; accounts and cases both build on it."""
