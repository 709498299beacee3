"""Writing a run's results: CSV files (`report_csv`), PNG plots (`report_plots`) and `report.html`
(`report_page`), per strategy and side by side."""

from __future__ import annotations

from simulation.report_csv import write_csvs
from simulation.report_page import write_html
from simulation.report_plots import write_plots, write_stress_plot

__all__ = ["write_csvs", "write_html", "write_plots", "write_stress_plot"]
