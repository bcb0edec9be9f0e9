"""What a trainer and every viewer share: the run directory (`rundir`: layout, writer, follower),
checkpoints (`checkpoint`), what the engine yields and how it is steered (`control`: `StepStats`,
`Event`, `Control`) and whole-file writes (`atomic`).

It imports neither `latentlab.train` nor `latentlab.metrics` (tests/run/test_layering.py), and this
file imports nothing, so a viewer that only follows a run does not load torch.
"""
