"""The wattcast trainer: InfluxDB -> pandas -> Keras model, with live progress.

The console script `wattcast-trainer` (:mod:`wattcast.trainer.main`) runs one TrainingJob,
in a pod (docs/design.md §3.1) or standalone from a YAML file. The stages live in their own
modules: :mod:`sources` (data access, two dialects), :mod:`preparation` (regular series,
gaps, negatives, outliers), :mod:`features` and :mod:`models` (the forecasting model),
:mod:`evaluation` (holdout metrics and baselines), :mod:`store` (the versioned model store)
and :mod:`progress` (status patches, termination log, terminal display).
"""
