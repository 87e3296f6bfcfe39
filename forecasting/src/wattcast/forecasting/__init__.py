"""Shared forecasting code of the trainer and the API (docs/forecasts.md).

InfluxDB access (both dialects), series preparation, the feature code, the forecaster
interface and the one forecasting path every caller uses (REST, `wattcast-forecast`, the
trainer's own holdout). It imports the contract and no component, and never TensorFlow: a
saved Keras model runs on Keras' numpy backend here. Its modules and their layers, top down:
docs/design.md §6.1.
"""
