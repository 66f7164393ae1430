"""manage.py recommend: print a user's picks with predicted stars and reasons."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import services


class Command(BaseCommand):
    help = "Print a user's top picks with predicted stars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="User id or username (MovieLens users: movielens-<id>).")
        parser.add_argument("-n", type=int, default=10, help="How many picks.")

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        key = str(options["user"])
        lookup = {"pk": int(key)} if key.isdigit() else {"username": key}
        try:
            user = User.objects.get(**lookup)
        except User.DoesNotExist:
            raise CommandError(f"no user {key!r}") from None
        picks = services.recommend_for(user, n=options["n"])  # type: ignore[arg-type]
        active = services.active_factors()
        source = f"model v{active[0]}" if active else "most popular (no model trained yet)"
        self.stdout.write(f"Top {len(picks)} for {user.get_username()} ({source}):")
        for rank, pick in enumerate(picks, 1):
            stars = f"{pick.stars:.1f}" if pick.stars is not None else "  - "
            reason = f"  (because you rated {pick.because})" if pick.because else ""
            self.stdout.write(f"{rank:>3}. {stars} ★  {pick.movie}{reason}")
