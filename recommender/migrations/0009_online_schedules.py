"""The online learning schedules: flush impressions, recount the online figures, prune old impressions.

Admins change them under Periodic tasks.
"""

from django.db import migrations

SCHEDULES = [
    # (name, task, every (seconds) or None, crontab (minute, hour) or None, description)
    (
        "Flush impressions",
        "recommender.impressions_flush",
        10,
        None,
        "Move the picks shown (queued in Redis) into the impressions table, in batches.",
    ),
    (
        "Recount online figures",
        "recommender.online_metrics_refresh",
        600,
        None,
        "Count what people did with the picks shown, per version and experiment arm.",
    ),
    (
        "Prune impressions",
        "recommender.impressions_prune",
        None,
        ("30", "4"),
        "Delete impressions older than RECOMMENDER_IMPRESSIONS_RETENTION_DAYS, in batches.",
    ),
]


def add_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, crontab, description in SCHEDULES:
        when: dict = {}
        if every is not None:
            when["interval"], _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        else:
            minute, hour = crontab
            when["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
            )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "description": description, **when})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0008_impressions_experiments"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedules, remove_schedules)]
