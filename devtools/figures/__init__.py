"""The docs' figures and screenshots, redrawn from a run or a checkpoint."""
