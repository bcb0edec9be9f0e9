"""The app's look: one dark palette for Qt and pyqtgraph, the curve colours and the window icon."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QLinearGradient, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1e2127"
PANEL = "#262a31"
BASE = "#1a1d22"
TEXT = "#d7dae0"
MUTED = "#8b919c"
ACCENT = "#5aa9e6"
GRID = "#3a3f48"

# One colour per quantity, used by every plot and legend. Chosen to stay apart for common
# colour-vision deficiencies (blue/orange/magenta rather than red/green).
CURVE_COLORS = {
    "real": "#4fc3f7",
    "fake": "#f06292",
    "gen": "#ffb74d",
    "kl": "#9ccc65",
    "llike": "#b39ddb",
    "l2_d": "#ce93d8",
    "lr_d": "#81c784",
    "lr_g": "#fff176",
    "skip_d": "#f06292",
    "skip_g": "#ffb74d",
    "equilibrium": "#9aa0aa",
}
LEVEL_COLORS = {"error": "#ef5350", "alert": "#ffb74d", "info": ACCENT, "setting": "#9ccc65"}

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QGroupBox {{
    border: 1px solid {GRID}; border-radius: 6px; margin-top: 14px; padding: 10px 8px 8px 8px;
    font-weight: 600;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED}; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 6px 18px; background: {PANEL}; color: {MUTED}; border: none; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QPushButton {{ padding: 5px 12px; border-radius: 4px; background: #323741; border: 1px solid #3f4550; }}
QPushButton:hover {{ background: #3a404b; }}
QPushButton:disabled {{ color: #5c626d; background: #2a2e35; border-color: #30343b; }}
QPushButton#primary {{ background: #2f6f9f; border-color: #3a83b8; font-weight: 600; }}
QPushButton#primary:hover {{ background: #377fb4; }}
QPushButton#primary:disabled {{ background: #2a3a47; color: #6d7d8a; }}
QLabel#banner_error {{ background: #4a2326; border: 1px solid #8c3a3f; border-radius: 4px; padding: 6px; }}
QLabel#banner_info {{ background: #1f3a4d; border: 1px solid #2f6f9f; border-radius: 4px; padding: 6px; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#heading {{ font-weight: 600; color: {MUTED}; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
QStatusBar QLabel {{ padding: 0 8px; }}
QProgressBar {{ border: 1px solid {GRID}; border-radius: 3px; background: {BASE}; text-align: center;
    min-width: 220px; max-height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QListWidget {{ background: {BASE}; border: 1px solid {GRID}; border-radius: 4px; }}
QScrollArea {{ border: none; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid #5c626d; border-radius: 3px;
    background: {BASE}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox::indicator:disabled {{ border-color: #3a3f48; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.Window: BACKGROUND, QPalette.WindowText: TEXT, QPalette.Base: BASE,
        QPalette.AlternateBase: PANEL, QPalette.ToolTipBase: PANEL, QPalette.ToolTipText: TEXT,
        QPalette.Text: TEXT, QPalette.Button: PANEL, QPalette.ButtonText: TEXT,
        QPalette.BrightText: "#ffffff", QPalette.Highlight: ACCENT, QPalette.HighlightedText: "#10151b",
        QPalette.Link: ACCENT, QPalette.PlaceholderText: MUTED,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        palette.setColor(QPalette.Disabled, role, QColor("#5c626d"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)


def configure_pyqtgraph() -> None:
    import pyqtgraph as pg

    pg.setConfigOptions(background=BASE, foreground=MUTED, antialias=False)


def app_icon() -> QIcon:
    """A face drawn from a latent grid: painted in code so there is no binary file to keep."""
    icon = QIcon()
    for size in (16, 32, 64, 128, 256):
        icon.addPixmap(_icon_pixmap(size))
    return icon


def _icon_pixmap(size: int) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    s = size / 64.0
    grad = QLinearGradient(0, 0, size, size)
    grad.setColorAt(0.0, QColor("#2f6f9f"))
    grad.setColorAt(1.0, QColor("#6a3f8f"))
    p.setPen(Qt.NoPen)
    p.setBrush(QBrush(grad))
    p.drawRoundedRect(QRectF(2 * s, 2 * s, 60 * s, 60 * s), 13 * s, 13 * s)
    # Dots of a latent grid fading into a face outline.
    p.setBrush(QColor(255, 255, 255, 60))
    for i in range(4):
        for j in range(4):
            p.drawEllipse(QPointF((12 + 13.3 * i) * s, (12 + 13.3 * j) * s), 1.6 * s, 1.6 * s)
    p.setBrush(QColor("#ffd8b0"))
    p.drawEllipse(QRectF(16 * s, 13 * s, 32 * s, 38 * s))
    p.setBrush(QColor("#1e2127"))
    p.drawEllipse(QPointF(26 * s, 29 * s), 2.8 * s, 2.8 * s)
    p.drawEllipse(QPointF(38 * s, 29 * s), 2.8 * s, 2.8 * s)
    smile = QPainterPath(QPointF(25 * s, 39 * s))
    smile.quadTo(QPointF(32 * s, 45 * s), QPointF(39 * s, 39 * s))
    p.setBrush(Qt.NoBrush)
    p.setPen(QPen(QColor("#1e2127"), max(1.0, 2.4 * s), Qt.SolidLine, Qt.RoundCap))
    p.drawPath(smile)
    p.end()
    return pix
