"""The Explore panel's editing widgets and its ExploreState, kept in step both ways.

A widget the user moves changes the state through one of its methods; the state then announces what
changed, and every widget showing that aspect re-shows it. Widgets never call each other, and none
of them asks for a render: the state's LATENT and STRIP changes reach the render worker through
rendering.ViewRendering alone.
"""

from __future__ import annotations

from latentlab.gui.state.explore_state import AMOUNTS, BASE, KEYFRAMES, ExploreState


class StateBinding:
    def __init__(self, state: ExploreState, *, dims, directions, attributes, controls, keyframes):
        self.state = state
        self.dims, self.directions, self.attributes = dims, directions, attributes
        self.controls, self.keyframes = controls, keyframes
        # widget -> state
        dims.value_changed.connect(state.set_dim)
        dims.reset_requested.connect(state.reset_dim)
        directions.directions_changed.connect(state.set_principal)
        directions.amount_changed.connect(state.set_principal_amount)
        attributes.value_changed.connect(state.set_attribute_amount)
        attributes.reset_requested.connect(self._attribute_reset)
        controls.psi_changed.connect(state.set_psi)
        keyframes.mode_changed.connect(state.set_interp)
        keyframes.position_changed.connect(self._position_moved)
        # state -> widgets
        state.changed.connect(self._show)

    def _attribute_reset(self, i: int) -> None:
        self.attributes.set_value(i, 0.0)
        self.state.set_attribute_amount(i, 0.0)

    def _position_moved(self, t: float) -> None:
        self.keyframes.show_position(t)
        if self.state.has_keyframes():
            self.state.go_between(t)

    def _show(self, aspects: frozenset) -> None:
        state = self.state
        if BASE in aspects:
            if self.dims.count() == state.latent_dim:
                self.dims.set_values(state.base)
            self.controls.show_seed(state.seed)  # None: "no seed" (a photo, a bookmark, a point A-B)
        if AMOUNTS in aspects:
            # Rows that do not match are being rebuilt by their widget (new directions, new model).
            for bank, amounts in ((self.directions.bank, state.principal_amounts),
                                  (self.attributes, state.attribute_amounts)):
                if bank.count() == len(amounts):
                    bank.set_values(amounts)
        if KEYFRAMES in aspects:
            for which in ("A", "B"):
                self.keyframes.set_label(which, state.keyframe_label(which))
            self.keyframes.set_ready(state.has_keyframes())
            if not state.has_keyframes():
                self.keyframes.strip.set_frames(None)
