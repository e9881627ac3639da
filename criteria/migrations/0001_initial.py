"""Criteria sets move here from the annotation app; their tables stay as they were (state only)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("annotation", "0003_preference_collection"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CriteriaSet',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.SlugField(help_text="Stable key, e.g. 'therapeutic'.", max_length=64)),
                        ('version', models.PositiveIntegerField()),
                        ('name', models.CharField(max_length=200)),
                        ('description', models.TextField(blank=True)),
                        ('is_current', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'annotation_criteriaset',
                        'ordering': ['key', '-version'],
                    },
                ),
                migrations.CreateModel(
                    name='Criterion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.SlugField(help_text="Stable key referenced everywhere, e.g. 'empathy'.", max_length=64)),
                        ('name', models.CharField(max_length=120)),
                        ('question', models.TextField(help_text='The question a rater answers for this criterion.')),
                        ('better_when', models.TextField()),
                        ('worse_when', models.TextField()),
                        ('position', models.PositiveSmallIntegerField(default=0)),
                        ('criteria_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='criteria', to='criteria.criteriaset')),
                    ],
                    options={
                        'db_table': 'annotation_criterion',
                        'ordering': ['criteria_set', 'position', 'id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='criteriaset',
                    constraint=models.UniqueConstraint(fields=('key', 'version'), name='criteria_set_unique_version'),
                ),
                migrations.AddConstraint(
                    model_name='criteriaset',
                    constraint=models.UniqueConstraint(condition=models.Q(('is_current', True)), fields=('key',), name='criteria_set_one_current'),
                ),
                migrations.AddConstraint(
                    model_name='criterion',
                    constraint=models.UniqueConstraint(fields=('criteria_set', 'key'), name='criterion_unique_key_in_set'),
                ),
            ],
            database_operations=[],
        ),
    ]
