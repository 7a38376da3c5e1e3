"""Accessibility measures and their breakdown by deprivation.

* :mod:`transport_access.access.measures`: pure functions on travel-time tables (minutes to
  the nearest, cumulative opportunities, gravity, 2SFCA, reliability, return journeys).
* :mod:`transport_access.access.equity`: population-weighted summaries by IMD decile and
  quintile, local authority and rural/urban class; quintile gap, concentration index,
  access deserts.
* :mod:`transport_access.access.run`: :func:`~transport_access.access.run.run_access` for a
  study and :func:`~transport_access.access.run.write_access_outputs`.
* :mod:`transport_access.access.jts`: comparison with the DfT Journey Time Statistics.

Submodules are imported on use, so importing this package stays cheap.
"""
