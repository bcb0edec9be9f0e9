"""The Metrics tab: quality metrics and health events of the run the Train tab shows."""
