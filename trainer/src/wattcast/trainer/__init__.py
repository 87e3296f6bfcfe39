"""The wattcast trainer: InfluxDB -> pandas -> Keras model, with live progress.

The console script `wattcast-trainer` (:mod:`wattcast.trainer.main`) runs one TrainingJob,
in a pod (docs/design.md §3.1) or standalone from a YAML file. From the top down (an
import-linter layers contract in pyproject.toml keeps this order):

- :mod:`main`: the command line; :mod:`pipeline`: one run, stage by stage;
- :mod:`fleet_main` (`wattcast-fleet-shard`, one shard of a FleetTrainingJob) over
  :mod:`fleet` (the shard's meters, each through :mod:`pipeline`, idempotent per meter);
- :mod:`metadata` (metadata.json of the new version) and :mod:`promoting` (the gate);
- :mod:`training`: features, the network fitted and every forecaster scored on the holdout;
- :mod:`ensembling` (the network, the seasonal blend and a linear model combined by validation
  into one Keras model), :mod:`fitting` (the networks as Forecasters) and :mod:`holdout` (its
  start, the forecasting path's forecasts on it, the interval);
- :mod:`graph_cache`: one traced training graph per network shape, shared by the meters;
- :mod:`models`: the Keras networks of `spec.model.type`; :mod:`epoch_loop`: training one, whole
  epochs as graphs, with early stopping;
- :mod:`job_loading` (the TrainingJob, from the API or a file, and its source),
  :mod:`progress` (status patches, termination log, terminal), :mod:`store` (writing the
  versioned model store) and :mod:`evaluation` (scores on one mask);
- :mod:`specfile` (reading a spec file safely), :mod:`settings` and :mod:`keras_backend`
  (TensorFlow and Keras, loaded quietly).

Data access, preparation, features, the forecaster interface and the forecasting path are the
shared :mod:`wattcast.forecasting` package's.
"""
