"""The recommender: the engine (pure Python) and its Django face."""
