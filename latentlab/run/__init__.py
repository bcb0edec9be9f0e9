"""What a trainer and every viewer share: the run directory (`layout`: every path in it; `rundir`:
writer, follower), who may write it (`lock`: RUN/.lock; `claim`: never another's run, never a
user's folder), checkpoints (`checkpoint`), what the engine yields and how it is steered (`control`: `StepStats`,
`Event`, `Control`); whole-file writes are `latentlab.atomic`, a standard-library module every layer uses.

It imports neither `latentlab.train` nor `latentlab.metrics` (tests/run/test_imports.py), and this
file imports nothing, so a viewer that only follows a run does not load torch.
"""
