"""The base-2 softmax unit with online normalization, and the corner turn that brings
the array's logits into its rows."""
