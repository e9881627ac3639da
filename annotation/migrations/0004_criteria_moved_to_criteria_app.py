"""Criteria sets now live in the criteria app; their tables stay (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0003_preference_collection'),
        ('criteria', '0001_initial'),
        ('evaluation', '0002_criteria_set_moved'),
        ('survey_app', '0003_criteria_set_moved'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='criteriaset',
                    name='created_by',
                ),
                migrations.AlterField(
                    model_name='rankingcampaign',
                    name='criteria_set',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='criteria.criteriaset'),
                ),
                migrations.AlterField(
                    model_name='datasetsnapshot',
                    name='criteria_set',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='snapshots', to='criteria.criteriaset'),
                ),
                migrations.AlterField(
                    model_name='judgejob',
                    name='criteria_set',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='judge_jobs', to='criteria.criteriaset'),
                ),
                migrations.DeleteModel(
                    name='Criterion',
                ),
                migrations.DeleteModel(
                    name='CriteriaSet',
                ),
            ],
            database_operations=[],
        ),
    ]
