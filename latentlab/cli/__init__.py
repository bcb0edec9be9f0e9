"""The `latentlab` command, one module per command family: `dispatch` (the top parser and the
dispatch; each family builds its own commands' parsers), `train`, `media` (sample, walk, timelapse),
`photo` (align, project, encode), `edit` (edit, walk --direction, attributes), `runs` (presets,
import-dcgan, tensorboard, metrics, export), with what they share in `common`, `progress` (the
progress line) and `streams` (closed and full standard streams, background threads' errors). The
option bounds that --help reads are latentlab.bounds, at the bottom of the layers, because config
keys and the media writers check the same numbers."""

from latentlab.cli.dispatch import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
