"""Two listCases indexes in place of two narrower ones, each answering what the one it replaces did.

- The triage index (tenant, status, severity, created_at, score) replaces (tenant, status, severity_rank).
  It answers what the old one did (a tenant's cases by status: listTenant's open counts) and, from the
  index alone, getTenantDetail's counts by status and severity and listCases' counts by status,
  severity, time and score.
- (assignee, created_at, status) replaces (assignee, status): an assignee's cases in a time range
  ("assigned to me", last 24 hours) are a range of the index rather than every case of the range.

`migrate` then refreshes SQLite's planner statistics, which it needs to use them well
(cases/planner_statistics.py). The operations keep the table, so the FTS5 triggers of 0004 stay.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0004_case_search_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='case',
            name='case_tenant_status_sev',
        ),
        migrations.RemoveIndex(
            model_name='case',
            name='case_assignee_status',
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['tenant', 'status', 'severity', 'created_at', 'score'], name='case_triage'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['assignee', 'created_at', 'status'], name='case_assignee'),
        ),
    ]
