"""Training health and quality metrics that need no download (plus FID/KID when Inception weights
can be had). No Qt here; the app's Metrics view is latentlab/gui/metrics/panel.py.

- features: the fixed random-conv feature space every comparison uses
- quality: precision/recall (k-NN), Fréchet distance in that space, FID/KID via torchmetrics
- tracking: measurements during training ("quality" events) and of a checkpoint
- memorization: the training images nearest to a generated face
- history: a run directory's quality and health events, for viewers
"""
