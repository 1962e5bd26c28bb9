"""The oracle feeder: read public data sources, map them to the five health
components, sign and submit ``health.observe`` once per epoch (docs/health.md).
"""
