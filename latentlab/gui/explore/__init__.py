"""The Explore tab: a checkpoint's latent space under sliders, bookmarks, keyframes and the reconstruction view."""
