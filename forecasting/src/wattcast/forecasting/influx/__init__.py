"""The InfluxDB dialects behind :class:`wattcast.forecasting.datasource.DataSource`.

- :mod:`.flux`: InfluxDB 2.x through influxdb-client (the seed's default);
- :mod:`.influxql`: `/query` of InfluxDB 1.x, 2.x's v1 API and 3.x;
- :mod:`.responses`: what both do with an answer (an empty frame, InfluxDB's own words);
- :mod:`.dialects`: :func:`~.dialects.make_source`, the DataSource for a source description.
"""
