"""An index on Rating.rated_at: list chunks read only the ratings made since their version's snapshot."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("movies", "0008_movie_ratings_sum")]

    operations = [
        migrations.AddIndex(
            model_name="rating",
            index=models.Index(fields=["rated_at"], name="rating_rated_at_idx"),
        ),
    ]
