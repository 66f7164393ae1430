"""Movie.ratings_sum: each rating write adds its change to the count and the sum instead of recounting."""

from django.db import migrations, models

FILL = (
    "UPDATE movies_movie SET ratings_sum = COALESCE("
    "(SELECT SUM(r.value) FROM movies_rating r WHERE r.movie_id = movies_movie.id), 0) "
    "WHERE ratings_count > 0"
)


class Migration(migrations.Migration):
    dependencies = [("movies", "0007_tmdb_details")]

    operations = [
        migrations.AddField(
            model_name="movie",
            name="ratings_sum",
            field=models.FloatField(default=0, help_text="The stars of all its ratings added up."),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
