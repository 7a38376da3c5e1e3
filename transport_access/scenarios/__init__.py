"""Scenarios: options for the network described in YAML, applied to the baseline timetable.

- :mod:`~transport_access.scenarios.model`: the scenario file (``load_scenario``);
- :mod:`~transport_access.scenarios.edits`: ``apply_scenario`` (one scenario, a copy of the
  feed and what each modification changed) and ``apply_study_scenarios`` (a study's list);
- :mod:`~transport_access.scenarios.costs`: vehicle-hours, vehicle-km and cost rules;
- :mod:`~transport_access.scenarios.drt`: demand-responsive zones as routing links.

Nothing is imported here, so importing the package stays cheap.
"""
