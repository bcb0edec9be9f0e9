"""A model held for use: the renderer (PyTorch, or ONNX Runtime for single images), projecting a
photo into a model, VAE/GAN encoding and attribute vectors, and the Python API (`latentlab.load`)."""
