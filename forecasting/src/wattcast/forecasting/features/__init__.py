"""Features of the models: seasonal anchors, recent level, calendar, weather.

Day-ahead forecasting (docs/design.md §6): forecasts are issued at *origins* every `horizon` steps,
aligned to midnight UTC; a target `k` steps after the last known point (k = 1..horizon) may use
only points up to that last one. Every feature respects that, so the training samples, the
holdout forecasts and the naive baselines see exactly the same information.

Per target time t (k steps after the last known point L = t - k):

- **anchors** (the blend the model starts from): y one day back as far as known
  (``t - 24h*ceil(k/24h)``: y(t-24h) day-ahead), one and two weeks back, exponentially
  smoothed profiles of the same time of day (over days) and of the same time of week (over
  weeks), both profiles re-levelled to the last known day (scaled by its actual/profile
  mean ratio; shifted where the means are near zero or negative), both profiles plus their
  recent error (exponentially weighted, half-life 6 h): the level the meter is at right now,
  and three double-seasonal forecasts (a level plus a daily and a weekly pattern, Taylor 2003):
  on the smoothed level, on the last known point's, and on the last point's with the patterns
  measured against a smooth trend (docs/trainer.md).
- **recent level**: the mean of the last day before the origin and its change against the same
  day a week earlier, the mean over the lookback window and its weekly change, the deviation of
  the last known point from its weekly profile: level shifts and weather spells persist.
- **calendar** in the meters' local time zone: time of day and of year (harmonics), weekday,
  public holidays of the target day and of the anchors' days.
- **temperature** when present: at t (the stand-in for a day-ahead weather forecast), its change
  against the anchors' times, and its mean over the last day.
- **horizon**: k / horizon.

Values are divided by one scale per meter (the mean absolute value of the training part), so
one network shape fits a flat's kWh and a region's MWh. Points missing in long gaps are filled
for the features only, causally: from the same time a week, then a day earlier.

The modules, from the bottom up:

- :mod:`.configuration`: :class:`~.configuration.FeatureConfig` (what a model spec asks for, in
  steps) and :class:`~.configuration.Scaling` (what training freezes), computed once per
  training and recorded in, and read back from, metadata.json's `features`;
- :mod:`.calendar`: local clock and public holidays (the `holidays` package);
- :mod:`.smoothing`: the causal fills, profiles and means the anchors are made of;
- :mod:`.building`: :class:`~.building.FeatureSet` and :func:`~.building.build_features`.
"""
