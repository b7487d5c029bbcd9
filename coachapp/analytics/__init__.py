"""Pure statistics for the owner's Insights (no Flask, database or clock): ``stats`` (Wilson
intervals, conversion rows, the tier calibration, CSV rows) and ``settings`` (``rules/insights.yaml``)."""
