"""The Explore panel's widgets and their places: the view with its controls (or, in the same place,
the photo journey), keyframes and the reconstruction below it, and the slider tabs (latent,
directions, attributes, bookmarks, compare) beside it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.explore.bookmarks import BookmarksWidget
from latentlab.gui.explore.compare import CompareWidget
from latentlab.gui.explore.controls import ViewControlsWidget
from latentlab.gui.explore.directions import DirectionsPageWidget
from latentlab.gui.explore.keyframes import KeyframesWidget
from latentlab.gui.explore.live import FollowTrainingWidget
from latentlab.gui.explore.photo_journey import PhotoProjectionWidget
from latentlab.gui.explore.recon import ReconstructionWidget
from latentlab.gui.explore.sliders import SliderBankWidget
from latentlab.gui.widgets.alerts import MessageBanner
from latentlab.gui.widgets.image_view import ImageViewWidget


def _scrolling(page: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    return area


def build_layout(panel: QWidget) -> None:
    """Create the widgets as attributes of `panel` (panel.view, panel.dims, …) and lay them out."""
    panel.banner = MessageBanner()
    panel.model_label = QLabel("No model loaded")
    panel.model_label.setObjectName("heading")
    panel.model_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    panel.follow = FollowTrainingWidget()
    panel.view = ImageViewWidget("Open a checkpoint (File › Open checkpoint…), drop one here, or import a "
                                "PyTorch DCGAN (File › Import…)", minimum=200)
    panel.view.setToolTip("The generator's image of the current latent")

    panel.controls = ViewControlsWidget()
    panel.seed = panel.controls.seed

    panel.keyframes = KeyframesWidget(lambda: panel.bookmarks.bookmarks)
    key_box = QGroupBox("Keyframes")
    QVBoxLayout(key_box).addWidget(panel.keyframes)
    panel.recon = ReconstructionWidget()
    recon_box = QGroupBox("Reconstruction")
    QVBoxLayout(recon_box).addWidget(panel.recon)
    lower = QSplitter(Qt.Horizontal)
    lower.addWidget(key_box)
    lower.addWidget(recon_box)
    left = QWidget()
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(8, 6, 4, 6)
    left_layout.addWidget(panel.banner)
    # The model's name and Follow training on two rows: side by side they need 1,100 px.
    left_layout.addWidget(panel.model_label)
    left_layout.addWidget(panel.follow)
    panel.left_split = QSplitter(Qt.Vertical)
    view_box = QWidget()
    view_layout = QVBoxLayout(view_box)
    view_layout.setContentsMargins(0, 0, 0, 0)
    view_layout.addWidget(panel.view, 1)
    view_layout.addWidget(panel.controls)
    # The photo journey takes the view's place: photo, crop and result big, its buttons always in sight.
    panel.photo = PhotoProjectionWidget()
    panel.photo_page = panel.photo
    panel.stage = QStackedWidget()
    panel.stage.addWidget(view_box)
    panel.stage.addWidget(panel.photo)
    panel.left_split.addWidget(panel.stage)
    # Keyframes and Reconstruction side by side need ~610 px (a 1024 px window): below that they scroll.
    lower_scroll = _scrolling(lower)
    lower_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    lower_scroll.setMinimumHeight(lower.minimumSizeHint().height() + lower_scroll.horizontalScrollBar().sizeHint().height())
    panel.left_split.addWidget(lower_scroll)
    panel.lower_area = lower_scroll
    panel.left_split.setStretchFactor(0, 5)
    panel.left_split.setStretchFactor(1, 2)
    lower.setSizes([420, 520])
    left_layout.addWidget(panel.left_split, 1)

    panel.dims = SliderBankWidget(-4.0, 4.0, "Load a model to see its latent dimensions")
    panel.directions = DirectionsPageWidget()
    panel.principal = panel.directions.bank
    panel.attributes = SliderBankWidget(-3.0, 3.0, "This model has no attribute vectors")
    panel.bookmarks = BookmarksWidget()
    panel.tabs = QTabWidget()
    panel.tabs.setStyleSheet("QTabBar::tab { padding: 6px 8px; }")  # the five tabs fit the column at 1440 px
    panel.tabs.addTab(panel.dims, "Latent")
    panel.tabs.addTab(panel.directions, "Directions")
    panel.tabs.addTab(panel.attributes, "Attributes")
    # Bookmarks need 400 px at least; as their own scrolling page they do not widen the whole column
    # (every tab's minimum is the column's), which would cut the other tabs' rows.
    panel.tabs.addTab(_scrolling(panel.bookmarks), "Bookmarks")
    panel.compare = CompareWidget()  # a second checkpoint drawing the same latent
    panel.tabs.addTab(panel.compare, "Compare")
    panel.main_split = QSplitter(Qt.Horizontal)
    panel.main_split.addWidget(left)
    # The slider tabs scroll sideways in a narrow window rather than push it past 1024 px.
    side = _scrolling(panel.tabs)
    side.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    side.setMinimumWidth(380)
    panel.main_split.addWidget(side)
    panel.main_split.setStretchFactor(0, 3)
    panel.main_split.setStretchFactor(1, 1)
    panel.main_split.setSizes([960, 480])
    layout = QHBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel.main_split)
    panel.status = QLabel("render – ms")
    panel.status.setToolTip("Explore panel: the generator's time for the last picture, and the time from the "
                           "slider move to its pixels on screen")
