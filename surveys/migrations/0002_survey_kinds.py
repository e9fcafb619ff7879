"""Seed the three survey kinds with their default wording (editable afterwards in the admin)."""

from django.db import migrations

KINDS = [
    {
        "kind": "nps",
        "name": "Net Promoter Score",
        "question": "How likely are you to recommend {company} to a friend or colleague?",
        "low_label": "Not at all likely",
        "high_label": "Extremely likely",
        "comment_prompt": "What is the main reason for your score? (optional)",
    },
    {
        "kind": "csat",
        "name": "Customer Satisfaction",
        "question": "How satisfied are you with {company}?",
        "low_label": "Very unsatisfied",
        "high_label": "Very satisfied",
        "comment_prompt": "What could we do better? (optional)",
    },
    {
        "kind": "ces",
        "name": "Customer Effort Score",
        "question": "How easy was it to get what you needed from {company}?",
        "low_label": "Very difficult",
        "high_label": "Very easy",
        "comment_prompt": "What made it easy or hard? (optional)",
    },
]


def seed(apps, schema_editor):
    SurveyKind = apps.get_model("surveys", "SurveyKind")
    for row in KINDS:
        SurveyKind.objects.update_or_create(kind=row["kind"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
