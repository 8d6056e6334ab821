"""Read models of the record: status and people, the export, the court report, the dashboard."""
