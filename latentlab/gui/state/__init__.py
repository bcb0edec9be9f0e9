"""What the tabs show, with no Qt in it (so it is testable without a display): the metric series, the
Explore state, the models loaded for viewing."""
