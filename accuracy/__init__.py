"""Accuracy of the accelerator's arithmetic on real transformers (python -m vsq_accel.accuracy)."""
