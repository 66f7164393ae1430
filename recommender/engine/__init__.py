"""The recommender engine: pure Python (numpy, pandas, scikit-learn; Keras only to train).

It never imports Django, Celery or Redis, and importing the package imports nothing. Only the
training modules (model, presets, training and the parts of the training step) import
TensorFlow; what a web process needs (ids, factors, fold-in, ranking, similar, metrics) imports
without it. Each module's docstring says what it holds.
"""
