"""The Train tab: the config form, the training worker thread, and the live view of a run."""
