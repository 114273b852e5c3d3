"""Accuracy of the accelerator's arithmetic on real transformers (python -m accuracy)."""
