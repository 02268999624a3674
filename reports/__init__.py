"""Reports over decisions: pandas tables, CSV and HTML (`reports.cohort`)."""
