"""The two created_at indexes also carry the columns listCases filters and sorts by.

Every listCases call has a created_at range (24 hours when the caller gives none). A page sorted by
anything but created_at read every case of the range from the table, where a case is a whole 4 KB page
(its summary, AI summary and search text), and sorted the whole rows: 13-21 ms for the default window
of 15,000 cases. With the status, severity, score, ticket id, modification time and assignee in the
index, the page is chosen from the index alone and only its rows are read (case_sql.select_cases).

The operations keep the table, so the FTS5 triggers of 0004 stay; `migrate` then refreshes SQLite's
planner statistics (cases/planner_statistics.py).
"""


from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0005_case_triage_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='case',
            name='case_tenant_created',
        ),
        migrations.RemoveIndex(
            model_name='case',
            name='case_created',
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['tenant', 'created_at', 'id', 'status', 'severity', 'severity_rank', 'score', 'ticket_id', 'modified_at', 'assignee'], name='case_tenant_created'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['created_at', 'id', 'tenant', 'status', 'severity', 'severity_rank', 'score', 'ticket_id', 'modified_at', 'assignee'], name='case_created'),
        ),
    ]
