"""InfluxDB test bed: a hard synthetic meter generator and a real ``influxd`` for tests.

- :mod:`wattcast.devtools.testbed.synthetic` — reproducible synthetic meters (household,
  commercial, regional, water) with seasonality, weather, holidays, level shifts, noise, gaps
  and outliers; also returns the clean truth for evaluation.
- :mod:`wattcast.devtools.testbed.influx` — start/stop a throw-away InfluxDB 1.x server and
  write meters to it in the seed's data format.
- :mod:`wattcast.devtools.testbed.fixtures` — the pytest fixtures built on both.
"""
